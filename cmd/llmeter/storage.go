package main

import "github.com/llmeter-go/llmeter/blobstore"

// Every path the commands take may be an s3:// URL.
func init() { blobstore.RegisterS3() }
