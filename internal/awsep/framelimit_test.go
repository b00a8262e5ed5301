package awsep

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/llmeter-go/llmeter"
)

// frames encodes one event-stream message per payload size.
func frames(t *testing.T, sizes ...int) (all []byte, ends []int) {
	t.Helper()
	var b bytes.Buffer
	enc := eventstream.NewEncoder()
	for _, n := range sizes {
		msg := eventstream.Message{Payload: bytes.Repeat([]byte("x"), n)}
		msg.Headers.Set(":message-type", eventstream.StringValue("event"))
		if err := enc.Encode(&b, msg); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, b.Len())
	}
	return b.Bytes(), ends
}

// TestFrameLimiter reads streams byte by byte (the length prefixes split
// across reads) and in one piece: every message within the limit passes,
// the first one over it fails before more than its length prefix is
// delivered.
func TestFrameLimiter(t *testing.T) {
	stream, ends := frames(t, 10, 100, 1000, 10)
	sizes := []int{ends[0], ends[1] - ends[0], ends[2] - ends[1], ends[3] - ends[2]}
	for _, oneByte := range []bool{false, true} {
		for _, tc := range []struct {
			max  int
			want int // bytes delivered before the error; len(stream): no error
		}{
			{max: sizes[2], want: len(stream)},
			{max: sizes[2] - 1, want: ends[1]},
			{max: sizes[1] - 1, want: ends[0]},
		} {
			var r io.Reader = bytes.NewReader(stream)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			got, err := io.ReadAll(&frameLimiter{ReadCloser: io.NopCloser(r), max: tc.max})
			var pe *llmeter.ProtocolError
			switch {
			case tc.want == len(stream) && err != nil:
				t.Errorf("max %d, one byte %v: %v", tc.max, oneByte, err)
			case tc.want < len(stream) && (!errors.As(err, &pe) || !strings.Contains(err.Error(), "more than the limit")):
				t.Errorf("max %d, one byte %v: error %v, want a protocol error", tc.max, oneByte, err)
			}
			// Read byte by byte, the bytes of the length prefix that came
			// before its last one are delivered already.
			if hi := min(tc.want+3, len(stream)); len(got) < tc.want || len(got) > hi || !bytes.Equal(got, stream[:len(got)]) {
				t.Errorf("max %d, one byte %v: %d bytes delivered, want %d to %d of the stream", tc.max, oneByte, len(got), tc.want, hi)
			}
		}
	}
}

// TestSizeLimiter checks the bound on whole bodies.
func TestSizeLimiter(t *testing.T) {
	body := strings.Repeat("y", 100)
	for _, max := range []int{100, 99} {
		got, err := io.ReadAll(&sizeLimiter{ReadCloser: io.NopCloser(iotest.HalfReader(strings.NewReader(body))), max: max})
		if max >= len(body) {
			if err != nil || string(got) != body {
				t.Errorf("max %d: %d bytes, %v; want the whole body", max, len(got), err)
			}
			continue
		}
		var pe *llmeter.ProtocolError
		if !errors.As(err, &pe) || len(got) != max {
			t.Errorf("max %d: %d bytes, %v; want %d bytes and a protocol error", max, len(got), err, max)
		}
	}
}
