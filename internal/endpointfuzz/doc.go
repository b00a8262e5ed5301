// Package endpointfuzz holds FuzzLoadEndpoint, which rebuilds endpoints of
// every type from arbitrary saved configurations. It is a package of its own
// so that the fuzzing build instruments the endpoints alone, not the whole
// command line.
package endpointfuzz
