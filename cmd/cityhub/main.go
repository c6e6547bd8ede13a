// Command cityhub runs the city data and operations platform and its
// maintenance tasks (backup, restore, audit).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // the city's time zone must load on hosts without zoneinfo
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "cityhub:", err)
	}
	os.Exit(exitCode(err))
}

// Exit codes, mapped in this one place.
const (
	exitOK     = 0
	exitError  = 1
	exitUsage  = 2
	exitVerify = 3 // audit verification found tampering
)

type usageError struct{ error }

type verifyError struct{ error }

func exitCode(err error) int {
	var u usageError
	var v verifyError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &u):
		return exitUsage
	case errors.As(err, &v):
		return exitVerify
	}
	return exitError
}

const usage = `cityhub: the city data and operations platform

Usage:
  cityhub serve [flags]              run the platform (add --demo for the demo city)
  cityhub version [flags]            print the version and the schema version
  cityhub backup [flags] FILE        snapshot the running SQLite store, with its audit key, into FILE
  cityhub restore [flags] FILE       restore a backup into the data directory
  cityhub audit verify [flags]       walk the audit chain; exit 3 when it was tampered with
  cityhub audit export [flags]       write audit records as JSON lines
  cityhub audit head [flags]         write the signed chain head, to keep outside the platform
  cityhub load [flags] ENTRY FILE    load rows into a catalog entry's table (CSV, TSV, XLSX, JSON, NDJSON)
  cityhub catalog import [flags] F   import catalog entries from F (.xlsx or .csv, the guideline's layout)
  cityhub catalog export [flags] F   export the catalog to F (.xlsx or .csv)
  cityhub config [flags]             print the effective configuration (secrets masked)

Every command takes --data, --db, --config and the log flags, and reads
CITYHUB_* environment variables, so all of them find the same store.
Run "cityhub COMMAND --help" for a command's flags.
`

// Run runs one command. It never calls os.Exit.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{errors.New("no command given")}
	}
	cmd, rest := args[0], args[1:]
	if cmd == "audit" || cmd == "catalog" {
		if len(rest) == 0 {
			fmt.Fprint(stderr, usage)
			return usageError{fmt.Errorf("%s needs a subcommand", cmd)}
		}
		cmd, rest = cmd+" "+rest[0], rest[1:]
	}
	run, ok := commands[cmd]
	if !ok {
		if cmd == "help" || cmd == "-h" || cmd == "--help" {
			fmt.Fprint(stdout, usage)
			return nil
		}
		fmt.Fprint(stderr, usage)
		return usageError{fmt.Errorf("unknown command %q", cmd)}
	}
	fs := flag.NewFlagSet("cityhub "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return run(ctx, &env{fs: fs, args: rest, stdout: stdout, stderr: stderr, getenv: getenv})
}

// env is what a command gets: its flag set, arguments and streams.
type env struct {
	fs     *flag.FlagSet
	args   []string
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// config parses the flags (serve-only ones with serve) and returns the
// layered configuration and the remaining arguments.
func (e *env) config(serve bool) (Config, []string, error) {
	c, err := parseConfig(e.fs, e.args, serve, e.getenv)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return c, nil, usageError{err}
	}
	return c, e.fs.Args(), err
}

var commands = map[string]func(context.Context, *env) error{
	"serve":          cmdServe,
	"version":        cmdVersion,
	"config":         cmdConfig,
	"backup":         cmdBackup,
	"restore":        cmdRestore,
	"audit verify":   cmdAuditVerify,
	"audit export":   cmdAuditExport,
	"audit head":     cmdAuditHead,
	"catalog import": cmdCatalogImport,
	"catalog export": cmdCatalogExport,
	"load":           cmdLoad,
}
