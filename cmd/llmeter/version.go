package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version",
		Long:    "Print llmeter's version, the Go version it was built with and, when known, the source revision.",
		Example: "  llmeter version\n  llmeter --version",
		Args:    cobra.NoArgs,
		RunE: runE(func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(e.stdout, versionString())
			return err
		}),
	}
}

// versionString is "llmeter <module version> (<go version> <os>/<arch>)"
// and, when the binary records it, a second line with the VCS revision.
// The module version is "(devel)" for a build from a work tree.
func versionString() string {
	version, goVersion := "(devel)", runtime.Version()
	var rev, at string
	var modified bool
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	s := fmt.Sprintf("llmeter %s (%s %s/%s)", version, goVersion, runtime.GOOS, runtime.GOARCH)
	if rev != "" {
		s += "\nrevision " + rev
		if modified {
			s += " (modified)"
		}
		if at != "" {
			s += " " + at
		}
	}
	return s
}
