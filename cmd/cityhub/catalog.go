package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/catalogsheet"
)

// cliActor is who the command line acts as in the audit chain.
func cliActor(ctx context.Context) context.Context {
	name := "cli"
	if u, err := user.Current(); err == nil {
		name = "cli:" + u.Username
	}
	return cityhub.WithActor(ctx, cityhub.Actor{Username: name})
}

func fileFormat(path string) (string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".xlsx":
		return catalogsheet.XLSX, nil
	case ".csv":
		return catalogsheet.CSV, nil
	}
	return "", usageError{fmt.Errorf("%s: the file name must end in .xlsx or .csv", path)}
}

func cmdCatalogImport(ctx context.Context, e *env) error {
	sheet := e.fs.String("sheet", "", "XLSX sheet; default the first with a header row")
	skip := e.fs.Bool("skip-invalid", false, "import the valid entries when some are invalid")
	dry := e.fs.Bool("dry-run", false, "check only, change nothing")
	keep := e.fs.Bool("keep-status", false, "take each entry's status from the file (restoring a catalog)")
	c, args, err := e.config(false)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return usageError{fmt.Errorf("catalog import takes one FILE (.xlsx or .csv)")}
	}
	format, err := fileFormat(args[0])
	if err != nil {
		return err
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	store, _, err := openStore(ctx, c, newLogger(c, e.stderr), true)
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Fprintf(e.stderr, "checking %s …\n", args[0])
	rep, err := catalogsheet.Import(cliActor(ctx), store, f, format, *sheet,
		cityhub.ImportOptions{SkipInvalid: *skip, DryRun: *dry, KeepStatus: *keep})
	if err != nil {
		return err
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(e.stdout, p.String())
	}
	verb := "imported"
	if rep.DryRun {
		verb = "would import"
	}
	fmt.Fprintf(e.stdout, "%d entries read: %s %d new and %d changed, %d unchanged, %d skipped\n",
		rep.Received, verb, rep.Created, rep.Updated, rep.Unchanged, rep.Skipped)
	if len(rep.Problems) > 0 && rep.Created+rep.Updated == 0 && !rep.DryRun {
		return fmt.Errorf("%d problems: nothing was imported (fix them, or pass --skip-invalid)", len(rep.Problems))
	}
	return nil
}

func cmdCatalogExport(ctx context.Context, e *env) error {
	bom := e.fs.Bool("bom", false, "CSV: start with a UTF-8 BOM so Excel reads Chinese correctly")
	status := e.fs.String("status", "", "only entries with this status (e.g. published)")
	c, args, err := e.config(false)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return usageError{fmt.Errorf("catalog export takes one FILE (.xlsx or .csv)")}
	}
	format, err := fileFormat(args[0])
	if err != nil {
		return err
	}
	store, _, err := openStore(ctx, c, newLogger(c, e.stderr), true)
	if err != nil {
		return err
	}
	defer store.Close()
	ctx = cliActor(ctx)
	q := cityhub.CatalogQuery{Scope: cityhub.CatalogScope{All: true}, Status: *status}
	entries, err := cityhub.AllEntries(ctx, store, q, func(done, total int) {
		fmt.Fprintf(e.stderr, "\rread %d of %d entries", done, total)
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stderr)
	err = writeAtomically(args[0], func(w io.Writer) error {
		if format == catalogsheet.CSV {
			return catalogsheet.WriteCSV(w, entries, *bom)
		}
		return catalogsheet.WriteXLSX(w, entries, catalogsheet.WriteOptions{})
	})
	if err != nil {
		return err
	}
	rec := cityhub.NewAuditRecord(ctx, "catalog.export", "catalog", cityhub.OutcomeSuccess,
		fmt.Sprintf(`{"entries":%d,"file":%q}`, len(entries), filepath.Base(args[0])))
	if err := store.AppendAudit(ctx, rec); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "exported %d entries to %s\n", len(entries), args[0])
	return nil
}
