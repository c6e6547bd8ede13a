// Package browsertest drives Debian's chromium, headless, for the tests of
// the web pages (the console and the open-data portal). A step fails on
// any script exception, console.error call or error in the browser log
// (CSP violations, failed loads of assets); screenshots are kept when
// CITYHUB_SCREENSHOT_DIR is set.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's chromium.
const ChromiumPath = "/usr/bin/chromium"

// Require skips the test without the browser, except in CI, where its
// absence fails the test.
func Require(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("no browser at %s (install Debian's chromium); skipped outside CI", ChromiumPath)
		}
		t.Fatalf("no browser at %s: %v", ChromiumPath, err)
	}
}

// Browser is a headless chromium that collects the pages' problems.
type Browser struct {
	Ctx     context.Context // the browser's tab, for chromedp calls of the test's own
	ShotDir string          // CITYHUB_SCREENSHOT_DIR: screenshots are kept there

	t          *testing.T
	shotPrefix string

	mu       sync.Mutex
	problems []string
	// refused is the page the next steps expect to answer 4xx (a form sent
	// back with field errors): Chrome logs that as a network error.
	refused string
}

// Start starts chromium for at most timeout; it stops with the test.
// Screenshots are named shotPrefix + their name.
func Start(t *testing.T, timeout time.Duration, shotPrefix string) *Browser {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(ChromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// This machine's network is closed: no background connections.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	b := &Browser{Ctx: bctx, ShotDir: os.Getenv("CITYHUB_SCREENSHOT_DIR"), t: t, shotPrefix: shotPrefix}
	report := func(format string, args ...any) {
		b.mu.Lock()
		b.problems = append(b.problems, fmt.Sprintf(format, args...))
		b.mu.Unlock()
	}
	err := chromedp.Listen(bctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg += " " + d.Exception.Description
			}
			report("JavaScript exception at %s:%d: %s", d.URL, d.LineNumber, msg)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var args []string
				for _, a := range ev.Args {
					args = append(args, strings.Trim(string(a.Value), `"`)+a.Description)
				}
				report("console.error: %s", strings.Join(args, " "))
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				b.mu.Lock()
				expected := ev.Entry.Source == log.EntrySourceNetwork && b.refused != "" && ev.Entry.URL == b.refused
				b.mu.Unlock()
				if !expected {
					report("browser log error (%s) %s: %s", ev.Entry.Source, ev.Entry.URL, ev.Entry.Text)
				}
			}
		}
	})
	if err != nil {
		t.Fatalf("start browser: %v", err)
	}
	return b
}

// ExpectRefused names the page the next steps expect to answer 4xx ("" for none).
func (b *Browser) ExpectRefused(url string) {
	b.mu.Lock()
	b.refused = url
	b.mu.Unlock()
}

// Snap keeps a screenshot of the page when ShotDir is set.
func (b *Browser) Snap(name string) {
	b.t.Helper()
	if b.ShotDir == "" {
		return
	}
	png, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.ShotDir, b.shotPrefix+name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// Step runs actions within 30 s and fails the test if they fail or a page
// reported a problem.
func (b *Browser) Step(name string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.StepWithin(30*time.Second, name, actions...)
}

// StepWithin is Step with its own deadline: a bounded wait.
func (b *Browser) StepWithin(d time.Duration, name string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s (within %s): %v", name, d, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.problems) > 0 {
		b.t.Fatalf("%s: the page reported problems:\n%s", name, strings.Join(b.problems, "\n"))
	}
}

// Text reads the text of the node sel selects.
func (b *Browser) Text(name, sel string) string {
	b.t.Helper()
	var got string
	var err error
	// A node read while the page's script changes the document can be
	// gone by the time it is read: read it again.
	for try := 0; try < 5; try++ {
		if got, err = chromedp.Run(b.Ctx, chromedp.Text(chromedp.CSS(sel))); err == nil || !strings.Contains(err.Error(), "No node") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		b.t.Fatalf("%s: read %s: %v", name, sel, err)
	}
	return got
}

// WantText requires the node's text, its spaces collapsed, to contain want.
func (b *Browser) WantText(name, sel, want string) {
	b.t.Helper()
	if got := b.Text(name, sel); !strings.Contains(strings.Join(strings.Fields(got), " "), want) {
		b.t.Errorf("%s: %s shows %q, want it to contain %q", name, sel, got, want)
	}
}

// Eval evaluates a JavaScript expression to a number.
func (b *Browser) Eval(expr string) float64 {
	b.t.Helper()
	v, err := chromedp.Run(b.Ctx, chromedp.Evaluate[float64](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// EvalString evaluates a JavaScript expression to a string.
func (b *Browser) EvalString(expr string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.Ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}
