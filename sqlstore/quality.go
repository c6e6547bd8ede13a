package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/cityhub/cityhub"
)

// TableQuality measures an entry's table at its current version.
func (s *Store) TableQuality(ctx context.Context, entryID int64) (*cityhub.TableQuality, error) {
	info, err := s.Table(ctx, entryID)
	if err != nil {
		return nil, err
	}
	e, err := s.Entry(ctx, entryID)
	if err != nil {
		return nil, err
	}
	table := fmt.Sprintf("ds_%d", entryID)
	current := " WHERE " + validIn
	qr := &cityhub.TableQuality{EntryID: entryID, Version: info.Version, Rows: info.Rows, UpdatedAt: e.DataUpdatedAt}
	items := map[string]cityhub.DataItem{}
	for _, it := range e.Items {
		items[it.Name] = it
	}
	var counts []string
	for _, c := range info.Columns {
		counts = append(counts, "COUNT("+c.Column+")")
	}
	filled := make([]int64, len(info.Columns))
	if len(counts) > 0 {
		dest := make([]any, len(filled))
		for i := range filled {
			dest[i] = &filled[i]
		}
		if err := s.read().row(ctx, "SELECT "+strings.Join(counts, ", ")+" FROM "+table+current, info.Version, info.Version).Scan(dest...); err != nil {
			return nil, err
		}
	}
	// The last successful load says how many values each check rejected.
	rejected := map[string]int64{}
	var received int64
	jobs, err := s.LoadJobs(ctx, entryID)
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if j.Status == cityhub.JobSucceeded {
			qr.LastLoad = j
			received = j.Received
			rows, err := s.read().query(ctx, "SELECT col, COUNT(*) FROM load_rejects WHERE job_id = ? GROUP BY col", j.ID)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var col string
				var n int64
				if err := rows.Scan(&col, &n); err != nil {
					rows.Close()
					return nil, err
				}
				rejected[col] = n
			}
			rows.Close()
			break
		}
	}
	var keys []string
	for i, c := range info.Columns {
		cq := cityhub.ColumnQuality{Item: c.Item, Validator: items[c.Item].ValidatorName(), Filled: filled[i],
			Rejected: rejected[c.Item], Validity: 1}
		if info.Rows > 0 {
			cq.Completeness = float64(filled[i]) / float64(info.Rows)
		}
		if received > 0 {
			cq.Validity = 1 - float64(cq.Rejected)/float64(received)
		}
		qr.Columns = append(qr.Columns, cq)
		if items[c.Item].PrimaryKey {
			keys = append(keys, c.Column)
		}
	}
	if len(keys) > 0 {
		k := strings.Join(keys, ", ")
		if err := s.read().row(ctx, "SELECT COUNT(*) FROM (SELECT "+k+" FROM "+table+current+" GROUP BY "+k+" HAVING COUNT(*) > 1) d",
			info.Version, info.Version).Scan(&qr.DuplicateKeys); err != nil {
			return nil, err
		}
	}
	if cycle := cityhub.CycleLength(e.UpdateCycle); e.DataUpdatedAt != nil {
		qr.Fresh = cycle == 0 || s.now().Sub(*e.DataUpdatedAt) <= cycle
	}
	return qr, nil
}
