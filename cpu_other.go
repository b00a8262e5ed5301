//go:build !unix

package llmeter

// processCPU is unknown on this platform.
func processCPU() float64 { return -1 }
