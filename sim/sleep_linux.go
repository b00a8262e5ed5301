package sim

import (
	"sync/atomic"
	"syscall"
	"time"
)

// fineWait is the last stretch of each wait that is slept with nanosleep
// instead of a runtime timer. On Linux the runtime sleeps in epoll_wait, whose
// millisecond timeout makes timers fire up to about 1 ms late when the process
// is idle; nanosleep wakes within tens of microseconds.
const fineWait = 1500 * time.Microsecond

// maxPreciseSleepers bounds the OS threads blocked in nanosleep at once (each
// sleeper holds a thread). Beyond it, waits fall back to runtime timers.
const maxPreciseSleepers = 256

var preciseSleepers atomic.Int32

// sleepPrecise sleeps for d on the current thread and reports true, or
// reports false at once if too many goroutines are sleeping this way.
func sleepPrecise(d time.Duration) bool {
	if preciseSleepers.Add(1) > maxPreciseSleepers {
		preciseSleepers.Add(-1)
		return false
	}
	ts := syscall.NsecToTimespec(int64(d))
	syscall.Nanosleep(&ts, nil) // an early return (EINTR) is fine: the caller loops
	preciseSleepers.Add(-1)
	return true
}
