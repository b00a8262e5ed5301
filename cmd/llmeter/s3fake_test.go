package main

import (
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// fakeS3Bucket is the bucket of the in-process S3 server the tests start.
const fakeS3Bucket = "llmeter-test"

// startFakeS3 starts an S3-compatible server with fakeS3Bucket and returns
// the environment that points the AWS SDK (and so llmeter) at it.
func startFakeS3(t *testing.T) []string {
	t.Helper()
	ts := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(ts.Close)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDFAKES3", "fake-s3-secret", "")}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(ts.URL); o.UsePathStyle = true })
	if _, err := client.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(fakeS3Bucket)}); err != nil {
		t.Fatal(err)
	}
	return []string{
		"AWS_ENDPOINT_URL_S3=" + ts.URL,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=AKIDFAKES3",
		"AWS_SECRET_ACCESS_KEY=fake-s3-secret",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/nonexistent",
		"AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
	}
}
