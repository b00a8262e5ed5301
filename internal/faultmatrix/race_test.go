//go:build race

package faultmatrix

// raceEnabled: the race detector makes moving 64 MiB bodies through the
// in-memory transport take minutes.
const raceEnabled = true
