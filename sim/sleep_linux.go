package sim

import (
	"runtime"
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
// sleeper holds a thread). Beyond it, waits fall back to runtime timers,
// which are precise enough when the process is busy. The bound is small on
// purpose: with 128 streams and a bound of 256, about twenty threads sat in
// nanosleep at any moment and their wake-ups, contending for two CPUs, made
// every event 0.6 ms later at the median than with a bound of 8 (llmbench
// accuracy, 128 clients).
var maxPreciseSleepers = int32(4 * runtime.GOMAXPROCS(0))

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
