package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/llmeter-go/llmeter"
	"github.com/llmeter-go/llmeter/internal/progress"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitThresholds  = 3 // a --fail-on objective was not met
	exitInterrupted = 130
)

// exitError carries the exit code of an error; err may be nil (nothing to
// print, e.g. an interrupted run that was saved).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return "exit status " + strconv.Itoa(e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageErrorf is a mistake in the command line: exit code 2.
func usageErrorf(format string, a ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

// env is what a command may touch of the outside world; tests replace it.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	exit           func(int) // for the second Ctrl-C only
	// terminal reports whether stderr is a terminal; width is its width in
	// columns (0 if unknown).
	terminal func() bool
	width    func() int
	con      *console
}

func newEnv(stdin io.Reader, stdout, stderr io.Writer) *env {
	e := &env{
		stdin: stdin, stdout: stdout, stderr: stderr,
		getenv:   os.Getenv,
		exit:     os.Exit,
		terminal: func() bool { return false },
		width:    func() int { return 0 },
	}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		e.terminal = func() bool { return true }
		e.width = func() int {
			w, _, err := term.GetSize(int(f.Fd()))
			if err != nil {
				return 0
			}
			return w
		}
	}
	// Nothing llmeter prints shows a secret it knows (see registerSecrets).
	e.stdout, e.stderr = redactingWriter{stdout}, redactingWriter{stderr}
	e.con = &console{w: e.stderr}
	return e
}

// consoleWriter writes through the console, for loggers.
type consoleWriter struct{ c *console }

func (w consoleWriter) Write(p []byte) (int, error) {
	w.c.Printf("%s", p)
	return len(p), nil
}

// redactingWriter hides registered secrets in what is written through it.
type redactingWriter struct{ w io.Writer }

func (r redactingWriter) Write(p []byte) (int, error) {
	if s := llmeter.Redact(string(p)); s != string(p) {
		if _, err := io.WriteString(r.w, s); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return r.w.Write(p)
}

// secretEnv are the environment variables whose values are secrets.
var secretEnv = []string{"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_ACCESS_KEY_ID", "AWS_BEARER_TOKEN_BEDROCK", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_PASSWORD", "HF_TOKEN"}

// registerSecrets registers the secrets of the environment, so that they
// are redacted from error messages and output.
func registerSecrets(getenv func(string) string) {
	for _, k := range secretEnv {
		llmeter.RegisterSecret(getenv(k))
	}
}

// run is the whole command: it parses args, runs the command and returns the
// exit code. It prints errors as "llmeter: <message>" on stderr, with a
// pointer to --help for usage errors.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runEnv(context.Background(), newEnv(stdin, stdout, stderr), args)
}

func runEnv(ctx context.Context, e *env, args []string) int {
	registerSecrets(e.getenv)
	root := newRootCmd(e)
	root.SetArgs(args)
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	code := exitUsage // errors that cobra returns itself: flags, arguments, unknown commands
	var ee *exitError
	if errors.As(err, &ee) {
		code, err = ee.code, ee.err
	}
	if err != nil {
		msg := strings.TrimRight(strings.TrimPrefix(err.Error(), "llmeter: "), "\n")
		e.con.Printf("llmeter: %s\n", msg)
		if code == exitUsage {
			path := "llmeter"
			if cmd != nil {
				path = cmd.CommandPath()
			}
			e.con.Printf("Run '%s --help' for usage.\n", path)
		}
	}
	return code
}

// runE adapts a command's function: an error it returns is a run failure
// (exit code 1) unless it carries its own code.
func runE(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := f(cmd, args)
		if err == nil {
			return nil
		}
		var ee *exitError
		if errors.As(err, &ee) {
			return err
		}
		return &exitError{code: exitFailure, err: err}
	}
}

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "llmeter",
		Short: "Measure the latency and throughput of LLM APIs",
		Long: `llmeter measures the latency and throughput of LLM APIs (time to first token,
time to last token, time per output token, tokens per second, errors) with a
fixed number of concurrent clients, and saves every response in a run folder
that awslabs/llmeter (Python) can load too.

Without --base-url, "llmeter run" tests the built-in simulator, so it shows
what a run looks like in a few seconds without any API or key.`,
		Example: `  # A first run against the built-in simulator
  llmeter run

  # 8 clients for 30 seconds against an OpenAI-compatible API
  llmeter run --base-url https://api.openai.com/v1 --model gpt-4o-mini --clients 8 --duration 30s

  # Print a saved run again
  llmeter report llmeter-runs/20260101-120000`,
		Version:       versionString(),
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.AddCommand(newRunCmd(e), newLoadTestCmd(e), newHeatmapCmd(e), newSweepCmd(e), newCapacityCmd(e), newCompareCmd(e), newSimulateCmd(e), newReportCmd(e), newVersionCmd(e))
	return root
}

// console writes notes and messages to stderr; while a live progress display
// is drawn, it writes them above the display.
type console struct {
	mu   sync.Mutex
	w    io.Writer
	live *progress.Renderer
}

// Printf writes a message.
func (c *console) Printf(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live != nil {
		c.live.Print(msg)
		return
	}
	io.WriteString(c.w, msg)
}

// setLive routes messages through r (nil: straight to stderr).
func (c *console) setLive(r *progress.Renderer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.live = r
}
