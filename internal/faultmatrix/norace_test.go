//go:build !race

package faultmatrix

const raceEnabled = false
