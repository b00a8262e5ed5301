package llmeter

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// storeMax raises a to v if v is larger.
func storeMax(a *atomic.Int64, v int64) {
	for {
		m := a.Load()
		if v <= m || a.CompareAndSwap(m, v) {
			return
		}
	}
}

// isWarmup reports whether the n-th request (from 0) sent at offset is part
// of the warm-up.
func (x *execution) isWarmup(n uint64, offset time.Duration) bool {
	return n < uint64(x.cfg.WarmupRequests) || (x.cfg.Warmup > 0 && offset < x.cfg.Warmup)
}

// openLoop sends requests on the arrival schedule until TotalRequests are
// due, RunDuration is over or ctx is done, then waits for the responses. The
// schedule is absolute (offsets from x.start): a late send is followed by
// the next ones at once until the schedule is caught up, so the achieved
// rate is the asked one whenever the generator and the cap allow.
func (x *execution) openLoop(ctx, inflightCtx context.Context) {
	cfg := x.cfg
	a := cfg.Arrival
	sched := a.newSchedule()
	opts := invokeOptions{runStart: x.start, recordChunks: !cfg.NoChunkTimes}
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	// slots is the cap on requests in flight (nil: none).
	var slots chan struct{}
	if a.MaxInFlight > 0 {
		slots = make(chan struct{}, a.MaxInFlight)
	}
	for n := uint64(0); ; n++ {
		if cfg.TotalRequests > 0 && n >= uint64(cfg.TotalRequests) {
			return
		}
		at := sched.next()
		if cfg.RunDuration > 0 && at >= cfg.RunDuration {
			return
		}
		if d := time.Until(x.start.Add(at)); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return
			}
		} else if ctx.Err() != nil {
			return
		}
		if slots != nil {
			select {
			case slots <- struct{}{}:
			default:
				if !a.QueueAtCap {
					x.notSent.Add(1)
					continue
				}
				x.capWaits.Add(1)
				select {
				case slots <- struct{}{}:
				case <-ctx.Done():
					return
				}
			}
		}
		pi := x.order[n%uint64(len(x.order))]
		x.next.Add(1)
		storeMax(&x.peak, x.inflight.Add(1))
		wg.Go(func() {
			resp := x.invokeOne(inflightCtx, pi, opts)
			x.inflight.Add(-1)
			if slots != nil {
				<-slots
			}
			resp.PayloadIndex = &pi
			resp.IntendedOffset = &at
			resp.Warmup = x.isWarmup(n, resp.SendOffset)
			x.results <- resp
		})
	}
}

// selfCheck adds the load generator's own health to the stats of a run:
// client CPU use, for open-loop runs the asked and achieved rates, requests
// not sent, and warnings when the generator rather than the server may be
// the limit, or when the server is saturated.
func (x *execution) selfCheck(st *Stats, cpu float64) {
	cfg := x.cfg
	if cpu >= 0 {
		st.Set("client_cpu_utilization", cpu)
	}
	var warn, saturated []string
	if cpu > 0.9 {
		warn = append(warn, fmt.Sprintf("the client used %.0f%% of its CPUs", cpu*100))
	}
	if a := cfg.Arrival; a != nil {
		sent := x.next.Load()
		st.Set("asked_rate", a.Rate)
		if a.RampTo > 0 {
			st.Set("asked_rate_ramp_to", a.RampTo)
		}
		a.describe(st)
		if ach, ok := x.achievedRate(); ok {
			st.Set("achieved_rate", ach)
		}
		st.Set("requests_not_sent", x.notSent.Load())
		st.Set("requests_queued_at_cap", x.capWaits.Load())
		lag99, _ := st.Float(MetricScheduleLag + "-p99")
		interval := 1 / max(a.Rate, a.RampTo)
		switch {
		case x.notSent.Load() > 0:
			saturated = append(saturated, fmt.Sprintf("%d requests were due while %d were in flight (the cap) and were not sent", x.notSent.Load(), a.MaxInFlight))
		case x.capWaits.Load() > 0 && lag99 > max(0.005, interval):
			saturated = append(saturated, fmt.Sprintf("%d requests waited for one of the %d slots (schedule lag p99 %s)", x.capWaits.Load(), a.MaxInFlight, fmtSeconds(lag99)))
		case lag99 > max(0.005, 0.5*interval):
			warn = append(warn, fmt.Sprintf("requests were sent late (schedule lag p99 %s for a mean gap of %s)", fmtSeconds(lag99), fmtSeconds(interval)))
		}
		if sent > 0 && x.acc.growing() {
			saturated = append(saturated, "its time to first token grew during the run: requests arrive faster than it completes them")
		}
	}
	if len(warn) > 0 {
		st.Set("load_generator_warning", "the load generator may be the limit: "+strings.Join(warn, "; "))
	}
	if len(saturated) > 0 {
		st.Set("server_saturated", strings.Join(saturated, "; "))
	}
}

func fmtSeconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(10 * time.Microsecond).String()
}

// achievedRate is the rate of the sends: requests−1 over the time from the
// first send to the last.
func (x *execution) achievedRate() (float64, bool) {
	if !x.acc.haveSendOffsets || x.acc.sent < 2 {
		return 0, false
	}
	w := (x.acc.lastSendOffset - x.acc.firstSendOffset).Seconds()
	if w <= 0 {
		return 0, false
	}
	return float64(x.acc.sent-1) / w, true
}

// cpuStats is a reading of the process's CPU time and the wall clock.
type cpuStats struct {
	cpu  float64 // seconds of CPU used by the process, < 0 if unknown
	wall time.Time
}

func cpuSample() cpuStats { return cpuStats{processCPU(), time.Now()} }

// utilizationSince is the fraction of the CPUs available to Go
// (GOMAXPROCS) the process used since an earlier reading, or -1 if unknown.
func (c cpuStats) utilizationSince(c0 cpuStats) float64 {
	wall := c.wall.Sub(c0.wall).Seconds() * float64(runtime.GOMAXPROCS(0))
	if c.cpu < 0 || c0.cpu < 0 || wall <= 0 {
		return -1
	}
	return min(max((c.cpu-c0.cpu)/wall, 0), 1)
}
