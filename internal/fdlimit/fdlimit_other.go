//go:build !unix

package fdlimit

func current() (uint64, bool) { return 0, false }
