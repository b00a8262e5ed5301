package llmeter

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Arrival processes of an open-loop run.
const (
	ArrivalConstant = "constant" // evenly spaced sends
	ArrivalPoisson  = "poisson"  // exponential gaps
	ArrivalGamma    = "gamma"    // gamma gaps; Burstiness is the shape
)

// Arrival makes a run open-loop: requests are sent on a schedule of
// arrival times, whether or not earlier ones have been answered, the way
// users arrive at a service. (The default, closed loop, is Clients clients
// each sending the next request when the last one is answered.)
//
// The schedule is absolute: the time of request k is computed from the start
// of the run, never by sleeping between requests, so delays do not add up
// and the achieved rate matches the asked one. A request the Runner sends
// after its time is late; how late is its schedule lag, and latencies are
// also reported from the intended time (see the open-loop statistics).
type Arrival struct {
	// Rate is the mean arrival rate in requests per second. Required.
	Rate float64
	// Process is ArrivalConstant (default), ArrivalPoisson or ArrivalGamma.
	Process string
	// Burstiness is the shape of the gamma process: 1 is Poisson, smaller is
	// burstier (gaps with a coefficient of variation 1/√Burstiness), larger
	// is more regular. Default 1.
	Burstiness float64
	// RampTo, with RampDuration, makes the rate move linearly from Rate to
	// RampTo over the first RampDuration of the run, then stay at RampTo.
	RampTo       float64
	RampDuration time.Duration
	// MaxInFlight caps the requests in flight; 0 means no cap. A request due
	// while the cap is reached is not sent (it is counted in
	// requests_not_sent), or with QueueAtCap waits for a free slot and is
	// sent late (its wait shows in schedule_lag).
	MaxInFlight int
	QueueAtCap  bool
	// Seed seeds the random processes; the same seed gives the same
	// schedule.
	Seed uint64
}

// Validate checks the arrival settings.
func (a *Arrival) Validate() error {
	switch {
	case !(a.Rate > 0) || math.IsInf(a.Rate, 0):
		return fmt.Errorf("llmeter: arrival: rate must be a positive number of requests per second, got %v", a.Rate)
	case a.Burstiness < 0 || math.IsNaN(a.Burstiness) || math.IsInf(a.Burstiness, 0):
		return fmt.Errorf("llmeter: arrival: burstiness must be positive, got %v", a.Burstiness)
	case a.RampTo < 0 || math.IsNaN(a.RampTo) || math.IsInf(a.RampTo, 0):
		return fmt.Errorf("llmeter: arrival: ramp target rate must be positive, got %v", a.RampTo)
	case (a.RampTo > 0) != (a.RampDuration > 0):
		return errors.New("llmeter: arrival: a ramp needs both a target rate and a duration")
	case a.MaxInFlight < 0:
		return fmt.Errorf("llmeter: arrival: max in flight must not be negative, got %d", a.MaxInFlight)
	}
	switch a.Process {
	case "", ArrivalConstant, ArrivalPoisson:
	case ArrivalGamma:
	default:
		return fmt.Errorf("llmeter: arrival: unknown process %q (want constant, poisson or gamma)", a.Process)
	}
	return nil
}

// describe adds the arrival settings to a run's stats (run_config.json
// keeps exactly LLMeter's keys).
func (a *Arrival) describe(st *Stats) {
	st.Set("arrival_process", a.process())
	if a.process() == ArrivalGamma {
		st.Set("arrival_burstiness", a.shape())
	}
	if a.RampTo > 0 {
		st.Set("arrival_ramp_duration", a.RampDuration.Seconds())
	}
	if a.MaxInFlight > 0 {
		st.Set("arrival_max_in_flight", a.MaxInFlight)
		st.Set("arrival_queue_at_cap", a.QueueAtCap)
	}
	st.Set("arrival_seed", a.Seed)
}

func (a *Arrival) process() string {
	if a.Process == "" {
		return ArrivalConstant
	}
	return a.Process
}

func (a *Arrival) shape() float64 {
	if a.Burstiness == 0 {
		return 1
	}
	return a.Burstiness
}

// Schedule returns the first n intended send offsets from the start of the
// run (for inspection and tests; the Runner draws them as it goes).
func (a *Arrival) Schedule(n int) []time.Duration {
	s := a.newSchedule()
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = s.next()
	}
	return out
}

// schedule draws arrival times. Every process first draws "operational
// time" u_k with unit rate (constant: u_k = k; Poisson: sums of Exp(1);
// gamma: sums of Gamma(shape, 1/shape)), then maps it to wall time through
// the inverse of the cumulative rate Λ(t) = ∫₀ᵗ rate, which applies the ramp
// exactly.
type schedule struct {
	a     *Arrival
	rng   *rand.Rand
	u     float64
	k     int
	shape float64
}

func (a *Arrival) newSchedule() *schedule {
	return &schedule{a: a, rng: rand.New(rand.NewPCG(a.Seed, 0x6c6c6d65746572)), shape: a.shape()}
}

// next returns the next intended offset.
func (s *schedule) next() time.Duration {
	switch s.a.process() {
	case ArrivalConstant:
		s.u = float64(s.k)
	case ArrivalPoisson:
		if s.k > 0 {
			s.u += s.rng.ExpFloat64()
		}
	case ArrivalGamma:
		if s.k > 0 {
			s.u += gamma(s.rng, s.shape) / s.shape
		}
	}
	s.k++
	return time.Duration(s.a.inverseCumulative(s.u) * float64(time.Second))
}

// inverseCumulative returns t (seconds) with Λ(t) = u.
func (a *Arrival) inverseCumulative(u float64) float64 {
	r0 := a.Rate
	if a.RampTo <= 0 || a.RampDuration <= 0 {
		return u / r0
	}
	r1, T := a.RampTo, a.RampDuration.Seconds()
	rampArea := (r0 + r1) / 2 * T
	if u >= rampArea {
		return T + (u-rampArea)/r1
	}
	// Λ(t) = r0·t + (r1−r0)·t²/(2T) = u, for 0 ≤ t < T.
	c := (r1 - r0) / (2 * T)
	if math.Abs(c) < 1e-12 {
		return u / r0
	}
	disc := r0*r0 + 4*c*u
	// The numerically stable root of c·t² + r0·t − u = 0.
	return 2 * u / (r0 + math.Sqrt(disc))
}

// gamma draws from Gamma(shape, 1) (Marsaglia and Tsang; for shape < 1
// boosted with U^(1/shape)).
func gamma(rng *rand.Rand, shape float64) float64 {
	if shape < 1 {
		u := rng.Float64()
		for u == 0 {
			u = rng.Float64()
		}
		return gamma(rng, shape+1) * math.Pow(u, 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}
