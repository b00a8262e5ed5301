package fdlimit

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	limit, ok := Limit()
	if !ok {
		t.Skip("no open-file limit on this platform")
	}
	if err := Check(int(limit)-Reserve, "--clients"); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	err := Check(int(limit), "--clients 99")
	if err == nil || !strings.Contains(err.Error(), "--clients 99 needs about") || !strings.Contains(err.Error(), "ulimit -n") {
		t.Errorf("over the limit: %v", err)
	}
}
