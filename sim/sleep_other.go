//go:build !linux

package sim

import "time"

// fineWait is 0 where runtime timers are precise enough on their own.
const fineWait = 0

func sleepPrecise(time.Duration) bool { return false }
