package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cityhub/cityhub"
)

func cmdAuditVerify(ctx context.Context, e *env) error {
	var anchors multiFlag
	e.fs.Var(&anchors, "anchor", "a head file written earlier by 'cityhub audit head'; the chain must still contain it (repeatable)")
	c, _, err := e.config(false)
	if err != nil {
		return err
	}
	var heads []*cityhub.AuditHead
	for _, path := range anchors {
		h, err := readHead(path)
		if err != nil {
			return usageError{err}
		}
		heads = append(heads, h)
	}
	store, key, err := openStore(ctx, c, newLogger(c, e.stderr), false)
	if err != nil {
		return err
	}
	defer store.Close()
	rep, err := cityhub.VerifyChain(ctx, store, key.Public(), heads...)
	if err != nil {
		return err
	}
	if rep.OK {
		fmt.Fprintln(e.stdout, "OK:", rep.Message)
		return nil
	}
	fmt.Fprintf(e.stdout, "TAMPERED: %s (problem %s at record %d; %d records read)\n", rep.Message, rep.Problem, rep.Seq, rep.Records)
	return verifyError{errors.New("audit chain verification failed")}
}

type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func readHead(path string) (*cityhub.AuditHead, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("anchor: %w", err)
	}
	var h cityhub.AuditHead
	if err := json.Unmarshal(data, &h); err != nil || h.Seq <= 0 || h.Hash == "" {
		return nil, fmt.Errorf("anchor %s: not a head written by 'cityhub audit head'", path)
	}
	return &h, nil
}

// output opens the --out file, or stdout when it is empty or "-".
func output(path string, stdout io.Writer) (io.Writer, func() error, error) {
	if path == "" || path == "-" {
		return stdout, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	return f, f.Close, nil
}

func cmdAuditExport(ctx context.Context, e *env) error {
	since := e.fs.String("since", "", "only records at or after this RFC 3339 time (e.g. 2026-11-01T00:00:00+08:00)")
	from := e.fs.Int64("from-seq", 1, "only records from this sequence number on")
	out := e.fs.String("out", "", "write to this file instead of standard output")
	c, _, err := e.config(false)
	if err != nil {
		return err
	}
	var sinceT time.Time
	if *since != "" {
		if sinceT, err = time.Parse(time.RFC3339, *since); err != nil {
			return usageError{fmt.Errorf("--since must be an RFC 3339 time: %w", err)}
		}
	}
	store, _, err := openStore(ctx, c, newLogger(c, e.stderr), false)
	if err != nil {
		return err
	}
	defer store.Close()
	w, closeOut, err := output(*out, e.stdout)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	n := 0
	err = store.WalkAudit(ctx, *from, func(r *cityhub.AuditRecord) error {
		if r.At.Before(sinceT) {
			return nil
		}
		n++
		return enc.Encode(r)
	})
	if err == nil {
		err = bw.Flush()
	}
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	if err == nil && *out != "" {
		fmt.Fprintf(e.stderr, "exported %d audit records to %s\n", n, *out)
	}
	return err
}

func cmdAuditHead(ctx context.Context, e *env) error {
	out := e.fs.String("out", "", "write to this file instead of standard output")
	c, _, err := e.config(false)
	if err != nil {
		return err
	}
	store, _, err := openStore(ctx, c, newLogger(c, e.stderr), false)
	if err != nil {
		return err
	}
	defer store.Close()
	h, err := store.AuditHead(ctx)
	if err != nil {
		return err
	}
	w, closeOut, err := output(*out, e.stdout)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(h); err != nil {
		closeOut()
		return err
	}
	return closeOut()
}
