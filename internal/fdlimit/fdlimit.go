// Package fdlimit checks, before a run starts, that the process may open
// enough files (sockets) for the connections it will hold.
//
// Go raises the soft limit on open files to the hard limit when a program
// starts (on Unix), so the limit checked is as high as the process can set
// it; if it is still too low, the run is refused with a message that says
// how many are needed, instead of thousands of "too many open files"
// failures in the middle of it.
package fdlimit

import "fmt"

// Reserve is the number of files kept for everything but the connections:
// result files, the binary's own, DNS, the simulator's listener.
const Reserve = 64

// Check reports an error when conns connections (plus Reserve) would not
// fit under the open-file limit. what names the cause, e.g. "--clients
// 10000".
func Check(conns int, what string) error {
	limit, ok := current()
	if !ok || uint64(conns+Reserve) <= limit {
		return nil
	}
	return fmt.Errorf("%s needs about %d open files (one per connection, plus %d), but this process may open %d; raise the limit (ulimit -n %d, or LimitNOFILE in a systemd unit) or lower the concurrency",
		what, conns+Reserve, Reserve, limit, conns+Reserve)
}

// Limit returns the process's open-file limit, and false when the platform
// has none to report.
func Limit() (uint64, bool) { return current() }
