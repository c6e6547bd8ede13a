package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
)

const entryColumns = `e.id, e.code, e.classification_code, e.name, e.provider_id, COALESCE(d.name, ''), e.provider_code,
	e.abstract, e.format, e.items, e.share_type, e.share_condition, e.share_method, e.share_basis, e.open_type,
	e.open_condition, e.open_basis, e.update_cycle, e.publish_date, e.related_codes, e.tags, COALESCE(e.domain, ''),
	e.status, e.status_reason, e.version, e.ever_published, e.created_at, e.updated_at, e.data_updated_at`

const entryFrom = " FROM catalog_entries e LEFT JOIN departments d ON d.id = e.provider_id"

func scanEntry(row interface{ Scan(...any) error }) (*cityhub.CatalogEntry, error) {
	var e cityhub.CatalogEntry
	var items, related, tags string
	var created, updated int64
	var dataUpdated sql.NullInt64
	if err := row.Scan(&e.ID, &e.Code, &e.ClassificationCode, &e.Name, &e.ProviderID, &e.ProviderName, &e.ProviderCode,
		&e.Abstract, &e.Format, &items, &e.ShareType, &e.ShareCondition, &e.ShareMethod, &e.ShareBasis, &e.OpenType,
		&e.OpenCondition, &e.OpenBasis, &e.UpdateCycle, &e.PublishDate, &related, &tags, &e.Domain,
		&e.Status, &e.StatusReason, &e.Version, &e.EverPublished, &created, &updated, &dataUpdated); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		text string
		dst  any
	}{{items, &e.Items}, {related, &e.RelatedCodes}, {tags, &e.Tags}} {
		if err := json.Unmarshal([]byte(f.text), f.dst); err != nil {
			return nil, fmt.Errorf("entry %d: stored JSON: %w", e.ID, err)
		}
	}
	e.CreatedAt, e.UpdatedAt, e.DataUpdatedAt = fromMicros(created), fromMicros(updated), fromNullMicros(dataUpdated)
	return &e, nil
}

func entryObject(id int64) string { return "catalog:" + strconv.FormatInt(id, 10) }

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// lockSuffix locks selected rows until the transaction ends on PostgreSQL;
// SQLite's IMMEDIATE transactions already hold the write lock.
func (s *Store) lockSuffix() string {
	if s.dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

func (s *Store) Classifications(ctx context.Context, scope cityhub.CatalogScope) ([]*cityhub.Classification, error) {
	rows, err := s.read().query(ctx, "SELECT code, name, COALESCE(parent, '') FROM classifications ORDER BY code")
	if err != nil {
		return nil, err
	}
	var out []*cityhub.Classification
	byCode := map[string]*cityhub.Classification{}
	for rows.Next() {
		c := &cityhub.Classification{}
		if err := rows.Scan(&c.Code, &c.Name, &c.Parent); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, c)
		byCode[c.Code] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var w where
	s.visible(&w, scope)
	counts, err := s.read().query(ctx, "SELECT e.classification_code, COUNT(*) FROM catalog_entries e"+w.String()+
		" GROUP BY e.classification_code", w.args...)
	if err != nil {
		return nil, err
	}
	defer counts.Close()
	for counts.Next() {
		var code string
		var n int
		if err := counts.Scan(&code, &n); err != nil {
			return nil, err
		}
		// Count each entry at its node and every ancestor.
		for c := byCode[code]; c != nil; c = byCode[c.Parent] {
			c.Count += n
			if c.Parent == "" {
				break
			}
		}
	}
	return out, counts.Err()
}

func (s *Store) CreateClassification(ctx context.Context, c *cityhub.Classification) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return s.change(ctx, "classification.create", func(tx q) (string, any, error) {
		if c.Parent != "" {
			var n int
			if err := tx.row(ctx, "SELECT COUNT(*) FROM classifications WHERE code = ?", c.Parent).Scan(&n); err != nil {
				return "", nil, err
			}
			if n == 0 {
				return "", nil, &cityhub.Error{Code: cityhub.EINVALID, Message: "invalid classification",
					Fields: map[string]string{"code": "parent " + c.Parent + " does not exist"}}
			}
		}
		var parent any
		if c.Parent != "" {
			parent = c.Parent
		}
		_, err := tx.exec(ctx, "INSERT INTO classifications (code, name, parent) VALUES (?, ?, ?)", c.Code, c.Name, parent)
		return "classification:" + c.Code, c, err
	})
}

func (s *Store) Domains(ctx context.Context) ([]*cityhub.Domain, error) {
	rows, err := s.read().query(ctx, "SELECT code, name, en, key_domain FROM domains ORDER BY position, code")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*cityhub.Domain
	for rows.Next() {
		d := &cityhub.Domain{}
		if err := rows.Scan(&d.Code, &d.Name, &d.EN, &d.Key); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// prepareEntry validates e against the tables: classification, provider,
// domain and related codes must exist (or be among known, the codes of a
// bulk import). It fills ProviderCode and
// ProviderName from the department.
func (s *Store) prepareEntry(ctx context.Context, tx q, e *cityhub.CatalogEntry, known map[string]bool) error {
	if err := e.Validate(cityhub.IsBaseClassification(e.ClassificationCode)); err != nil {
		return err
	}
	f := cityhub.FieldErrors{}
	var n int
	if err := tx.row(ctx, "SELECT COUNT(*) FROM classifications WHERE code = ?", e.ClassificationCode).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		f.Add("classification_code", "no classification "+e.ClassificationCode)
	}
	err := tx.row(ctx, "SELECT credit_code, name FROM departments WHERE id = ?", e.ProviderID).Scan(&e.ProviderCode, &e.ProviderName)
	if err == sql.ErrNoRows {
		f.Add("provider_id", "no such department")
	} else if err != nil {
		return err
	}
	if e.Domain != "" {
		if err := tx.row(ctx, "SELECT COUNT(*) FROM domains WHERE code = ?", e.Domain).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			f.Add("domain", "no open-data domain "+e.Domain)
		}
	}
	for _, c := range e.RelatedCodes {
		if known[c] {
			continue
		}
		if err := tx.row(ctx, "SELECT COUNT(*) FROM catalog_entries WHERE code = ?", c).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			f.Add("related_codes", "no entry with code "+c)
		}
	}
	return f.Err("invalid catalog entry")
}

// nextCode takes the next 顺序码 under the entry's classification.
func (s *Store) nextCode(ctx context.Context, tx q, class string) (string, error) {
	var seq int64
	if err := tx.row(ctx, "SELECT next_seq FROM classifications WHERE code = ?"+s.lockSuffix(), class).Scan(&seq); err != nil {
		return "", err
	}
	if _, err := tx.exec(ctx, "UPDATE classifications SET next_seq = ? WHERE code = ?", seq+1, class); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s/%06d", class, seq), nil
}

func (s *Store) CreateEntry(ctx context.Context, e *cityhub.CatalogEntry) error {
	return s.change(ctx, "catalog.create", func(tx q) (string, any, error) {
		if err := s.prepareEntry(ctx, tx, e, nil); err != nil {
			return "", nil, err
		}
		e.Code, e.Status, e.StatusReason, e.EverPublished, e.DataUpdatedAt = "", cityhub.StatusDraft, "", false, nil
		if err := s.insertEntry(ctx, tx, e, "create"); err != nil {
			return "", nil, err
		}
		return entryObject(e.ID), map[string]any{"code": e.Code, "name": e.Name}, nil
	})
}

// insertEntry writes a prepared entry as version 1, with its code (a new
// one when e.Code is empty), index and first version.
func (s *Store) insertEntry(ctx context.Context, tx q, e *cityhub.CatalogEntry, action string) error {
	var err error
	if e.Code == "" {
		if e.Code, err = s.nextCode(ctx, tx, e.ClassificationCode); err != nil {
			return err
		}
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	e.Version, e.CreatedAt, e.UpdatedAt = 1, now, now
	// As stored and read back: empty lists, not null.
	e.RelatedCodes, e.Tags = nonNilStrings(e.RelatedCodes), nonNilStrings(e.Tags)
	err = tx.row(ctx, `INSERT INTO catalog_entries (code, classification_code, name, provider_id, provider_code, abstract,
			format, items, share_type, share_condition, share_method, share_basis, open_type, open_condition, open_basis,
			update_cycle, publish_date, related_codes, tags, domain, status, status_reason, version, ever_published,
			created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		e.Code, e.ClassificationCode, e.Name, e.ProviderID, e.ProviderCode, e.Abstract, e.Format, jsonText(e.Items),
		e.ShareType, e.ShareCondition, e.ShareMethod, e.ShareBasis, e.OpenType, e.OpenCondition, e.OpenBasis,
		e.UpdateCycle, e.PublishDate, jsonText(nonNilStrings(e.RelatedCodes)), jsonText(nonNilStrings(e.Tags)),
		nullString(e.Domain), e.Status, e.StatusReason, e.Version, e.EverPublished, micros(now), micros(now)).Scan(&e.ID)
	if err != nil {
		return err
	}
	if e.DataUpdatedAt != nil {
		if _, err := tx.exec(ctx, "UPDATE catalog_entries SET data_updated_at = ? WHERE id = ?", micros(*e.DataUpdatedAt), e.ID); err != nil {
			return err
		}
	}
	if err := s.indexEntry(ctx, tx, e, true); err != nil {
		return err
	}
	if err := s.touchCatalog(ctx, tx, e.ID, false); err != nil {
		return err
	}
	return s.saveVersion(ctx, tx, e, action, "")
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// indexEntry writes the entry's tags and full-text terms.
func (s *Store) indexEntry(ctx context.Context, tx q, e *cityhub.CatalogEntry, fresh bool) error {
	if !fresh {
		if _, err := tx.exec(ctx, "DELETE FROM catalog_tags WHERE entry_id = ?", e.ID); err != nil {
			return err
		}
	}
	for _, t := range e.Tags {
		if _, err := tx.exec(ctx, "INSERT INTO catalog_tags (entry_id, tag) VALUES (?, ?)", e.ID, t); err != nil {
			return err
		}
	}
	var items []string
	for _, it := range e.Items {
		items = append(items, it.Name, it.Code, it.Description)
	}
	name := cityhub.SearchIndexText(e.Name + " " + e.Code)
	body := cityhub.SearchIndexText(e.Abstract + " " + e.ProviderName)
	itemText := cityhub.SearchIndexText(strings.Join(items, " "))
	tagText := cityhub.SearchIndexText(strings.Join(e.Tags, " "))
	if s.dialect == Postgres {
		_, err := tx.exec(ctx, `UPDATE catalog_entries SET search =
			setweight(to_tsvector('simple', ?), 'A') || setweight(to_tsvector('simple', ?), 'C') ||
			setweight(to_tsvector('simple', ?), 'B') || setweight(to_tsvector('simple', ?), 'B') WHERE id = ?`,
			name, body, itemText, tagText, e.ID)
		return err
	}
	if !fresh {
		if _, err := tx.exec(ctx, "DELETE FROM catalog_search WHERE rowid = ?", e.ID); err != nil {
			return err
		}
	}
	_, err := tx.exec(ctx, "INSERT INTO catalog_search (rowid, name, body, items, tags) VALUES (?, ?, ?, ?, ?)",
		e.ID, name, body, itemText, tagText)
	return err
}

func (s *Store) saveVersion(ctx context.Context, tx q, e *cityhub.CatalogEntry, action, note string) error {
	_, err := tx.exec(ctx, "INSERT INTO catalog_versions (entry_id, version, action, actor, at, note, snapshot) VALUES (?, ?, ?, ?, ?, ?, ?)",
		e.ID, e.Version, action, cityhub.ActorFrom(ctx).Username, micros(e.UpdatedAt), note, jsonText(e))
	return err
}

func (s *Store) lockedEntry(ctx context.Context, tx q, id int64) (*cityhub.CatalogEntry, error) {
	// FOR UPDATE cannot apply to the nullable side of an outer join on
	// PostgreSQL, so lock the row first, then read it whole.
	if s.dialect == Postgres {
		var one int
		if err := tx.row(ctx, "SELECT 1 FROM catalog_entries WHERE id = ? FOR UPDATE", id).Scan(&one); err != nil {
			if err == sql.ErrNoRows {
				return nil, cityhub.Errorf(cityhub.ENOTFOUND, "catalog entry %d not found", id)
			}
			return nil, err
		}
	}
	e, err := scanEntry(tx.row(ctx, "SELECT "+entryColumns+entryFrom+" WHERE e.id = ?", id))
	if err == sql.ErrNoRows {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "catalog entry %d not found", id)
	}
	return e, err
}

func (s *Store) UpdateEntry(ctx context.Context, e *cityhub.CatalogEntry, note string) error {
	return s.change(ctx, "catalog.update", func(tx q) (string, any, error) {
		old, err := s.lockedEntry(ctx, tx, e.ID)
		if err != nil {
			return "", nil, err
		}
		if err := s.prepareEntry(ctx, tx, e, nil); err != nil {
			return "", nil, err
		}
		if err := s.updateEntry(ctx, tx, old, e, "update", note); err != nil {
			return "", nil, err
		}
		return entryObject(e.ID), map[string]any{"version": e.Version, "changes": cityhub.Diff(old, e)}, nil
	})
}

// updateEntry writes prepared e over old as a new version.
func (s *Store) updateEntry(ctx context.Context, tx q, old, e *cityhub.CatalogEntry, action, note string) error {
	var err error
	if !old.Editable() {
		return cityhub.Errorf(cityhub.ECONFLICT, "the entry is %s: it cannot change while under review", old.Status)
	}
	e.ID, e.Code = old.ID, old.Code
	if e.ClassificationCode != old.ClassificationCode {
		if old.EverPublished {
			return &cityhub.Error{Code: cityhub.EINVALID, Message: "invalid catalog entry", Fields: map[string]string{
				"classification_code": "fixed once published: the resource code " + old.Code + " never changes"}}
		}
		// A new code would leave the entries naming the old one dangling.
		if refs, err := s.referencing(ctx, tx, old.Code); err != nil {
			return err
		} else if refs > 0 {
			return &cityhub.Error{Code: cityhub.EINVALID, Message: "invalid catalog entry", Fields: map[string]string{
				"classification_code": fmt.Sprintf("%d entries name %s as a related resource: its code cannot change", refs, old.Code)}}
		}
		if e.Code, err = s.nextCode(ctx, tx, e.ClassificationCode); err != nil {
			return err
		}
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	e.Status, e.StatusReason, e.EverPublished = old.Status, old.StatusReason, old.EverPublished
	e.Version, e.CreatedAt, e.UpdatedAt, e.DataUpdatedAt = old.Version+1, old.CreatedAt, now, old.DataUpdatedAt
	e.RelatedCodes, e.Tags = nonNilStrings(e.RelatedCodes), nonNilStrings(e.Tags)
	if e.PublishDate == "" && old.EverPublished {
		e.PublishDate = old.PublishDate // set on publication; an update leaving it out keeps it
	}
	_, err = tx.exec(ctx, `UPDATE catalog_entries SET code = ?, classification_code = ?, name = ?, provider_id = ?,
		provider_code = ?, abstract = ?, format = ?, items = ?, share_type = ?, share_condition = ?, share_method = ?,
		share_basis = ?, open_type = ?, open_condition = ?, open_basis = ?, update_cycle = ?, publish_date = ?,
		related_codes = ?, tags = ?, domain = ?, version = ?, updated_at = ? WHERE id = ?`,
		e.Code, e.ClassificationCode, e.Name, e.ProviderID, e.ProviderCode, e.Abstract, e.Format, jsonText(e.Items),
		e.ShareType, e.ShareCondition, e.ShareMethod, e.ShareBasis, e.OpenType, e.OpenCondition, e.OpenBasis,
		e.UpdateCycle, e.PublishDate, jsonText(nonNilStrings(e.RelatedCodes)), jsonText(nonNilStrings(e.Tags)),
		nullString(e.Domain), e.Version, micros(now), e.ID)
	if err != nil {
		return err
	}
	if err := s.indexEntry(ctx, tx, e, false); err != nil {
		return err
	}
	if err := s.touchCatalog(ctx, tx, e.ID, false); err != nil {
		return err
	}
	if err := s.saveVersion(ctx, tx, e, action, note); err != nil {
		return err
	}
	// An update answers every open change request.
	_, err = tx.exec(ctx, "UPDATE catalog_change_requests SET resolved_at = ?, resolved_version = ? WHERE entry_id = ? AND resolved_at IS NULL",
		micros(now), e.Version, e.ID)
	return err
}

func (s *Store) TransitionEntry(ctx context.Context, id int64, action cityhub.Transition, reason string) (*cityhub.CatalogEntry, error) {
	var e *cityhub.CatalogEntry
	err := s.change(ctx, "catalog."+string(action), func(tx q) (string, any, error) {
		var err error
		if e, err = s.lockedEntry(ctx, tx, id); err != nil {
			return "", nil, err
		}
		next, err := e.NextStatus(action, reason)
		if err != nil {
			return "", nil, err
		}
		from := e.Status
		now := s.now().UTC().Truncate(time.Microsecond)
		e.Status, e.StatusReason, e.Version, e.UpdatedAt = next, strings.TrimSpace(reason), e.Version+1, now
		if action == cityhub.ActSubmit || action == cityhub.ActApprove || action == cityhub.ActPublish {
			e.StatusReason = ""
		}
		if next == cityhub.StatusPublished {
			e.EverPublished = true
			if e.PublishDate == "" {
				e.PublishDate = now.Format("2006-01-02")
			}
			if e.DataUpdatedAt == nil {
				e.DataUpdatedAt = &now
			}
		}
		_, err = tx.exec(ctx, `UPDATE catalog_entries SET status = ?, status_reason = ?, version = ?, updated_at = ?,
			ever_published = ?, publish_date = ?, data_updated_at = ? WHERE id = ?`,
			e.Status, e.StatusReason, e.Version, micros(now), e.EverPublished, e.PublishDate, nullMicros(e.DataUpdatedAt), id)
		if err != nil {
			return "", nil, err
		}
		if err := s.touchCatalog(ctx, tx, id, false); err != nil {
			return "", nil, err
		}
		if err := s.saveVersion(ctx, tx, e, string(action), e.StatusReason); err != nil {
			return "", nil, err
		}
		return entryObject(id), map[string]any{"from": from, "to": next, "reason": e.StatusReason}, nil
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

func (s *Store) DeleteEntry(ctx context.Context, id int64) error {
	return s.change(ctx, "catalog.delete", func(tx q) (string, any, error) {
		e, err := s.lockedEntry(ctx, tx, id)
		if err != nil {
			return "", nil, err
		}
		if e.EverPublished || (e.Status != cityhub.StatusDraft && e.Status != cityhub.StatusRejected) {
			return "", nil, cityhub.Errorf(cityhub.ECONFLICT, "only drafts that were never published can be deleted; withdraw this one instead")
		}
		var refs int
		if err := tx.row(ctx, "SELECT COUNT(*) FROM catalog_entries WHERE related_codes LIKE ?", `%"`+e.Code+`"%`).Scan(&refs); err != nil {
			return "", nil, err
		}
		if refs > 0 {
			return "", nil, cityhub.Errorf(cityhub.ECONFLICT, "%d entries name %s as a related resource", refs, e.Code)
		}
		if s.dialect == SQLite {
			if _, err := tx.exec(ctx, "DELETE FROM catalog_search WHERE rowid = ?", id); err != nil {
				return "", nil, err
			}
		}
		if _, err = tx.exec(ctx, "DELETE FROM catalog_entries WHERE id = ?", id); err != nil {
			return "", nil, err
		}
		return entryObject(id), map[string]any{"code": e.Code, "name": e.Name}, s.touchCatalog(ctx, tx, id, true)
	})
}

// referencing counts the entries that name code as a related resource.
func (s *Store) referencing(ctx context.Context, tx q, code string) (int, error) {
	var refs int
	err := tx.row(ctx, "SELECT COUNT(*) FROM catalog_entries WHERE related_codes LIKE ?", `%"`+code+`"%`).Scan(&refs)
	return refs, err
}

func (s *Store) Entry(ctx context.Context, id int64) (*cityhub.CatalogEntry, error) {
	e, err := scanEntry(s.read().row(ctx, "SELECT "+entryColumns+entryFrom+" WHERE e.id = ?", id))
	if err == sql.ErrNoRows {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "catalog entry %d not found", id)
	}
	return e, err
}

func (s *Store) EntryByCode(ctx context.Context, code string) (*cityhub.CatalogEntry, error) {
	e, err := scanEntry(s.read().row(ctx, "SELECT "+entryColumns+entryFrom+" WHERE e.code = ?", code))
	if err == sql.ErrNoRows {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "no catalog entry with code %s", code)
	}
	return e, err
}

func (s *Store) EntryVersions(ctx context.Context, id int64) ([]*cityhub.CatalogVersion, error) {
	rows, err := s.read().query(ctx, "SELECT version, action, actor, at, note, snapshot FROM catalog_versions WHERE entry_id = ? ORDER BY version", id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*cityhub.CatalogVersion
	for rows.Next() {
		v := &cityhub.CatalogVersion{EntryID: id}
		var at int64
		var snap string
		if err := rows.Scan(&v.Version, &v.Action, &v.Actor, &at, &v.Note, &snap); err != nil {
			return nil, err
		}
		v.At = fromMicros(at)
		if err := json.Unmarshal([]byte(snap), &v.Entry); err != nil {
			return nil, fmt.Errorf("entry %d version %d: %w", id, v.Version, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "catalog entry %d not found", id)
	}
	return out, nil
}

func (s *Store) MarkDataUpdated(ctx context.Context, id int64, at time.Time) error {
	return s.markDataUpdated(ctx, id, micros(at))
}

func (s *Store) CreateChangeRequest(ctx context.Context, cr *cityhub.ChangeRequest) error {
	cr.Reason = strings.TrimSpace(cr.Reason)
	if cr.Reason == "" || len([]rune(cr.Reason)) > 2000 {
		return &cityhub.Error{Code: cityhub.EINVALID, Message: "invalid change request",
			Fields: map[string]string{"reason": "required, at most 2000 characters"}}
	}
	return s.change(ctx, "catalog.change_request", func(tx q) (string, any, error) {
		if _, err := s.lockedEntry(ctx, tx, cr.EntryID); err != nil {
			return "", nil, err
		}
		cr.Requester = cityhub.ActorFrom(ctx).Username
		cr.CreatedAt = s.now().UTC().Truncate(time.Microsecond)
		err := tx.row(ctx, "INSERT INTO catalog_change_requests (entry_id, requester, reason, created_at) VALUES (?, ?, ?, ?) RETURNING id",
			cr.EntryID, cr.Requester, cr.Reason, micros(cr.CreatedAt)).Scan(&cr.ID)
		return entryObject(cr.EntryID), cr, err
	})
}

func (s *Store) ChangeRequests(ctx context.Context, entryID int64) ([]*cityhub.ChangeRequest, error) {
	rows, err := s.read().query(ctx, `SELECT id, entry_id, requester, reason, created_at, resolved_at, resolved_version
		FROM catalog_change_requests WHERE entry_id = ? ORDER BY id DESC`, entryID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*cityhub.ChangeRequest
	for rows.Next() {
		cr := &cityhub.ChangeRequest{}
		var created int64
		var resolved, ver sql.NullInt64
		if err := rows.Scan(&cr.ID, &cr.EntryID, &cr.Requester, &cr.Reason, &created, &resolved, &ver); err != nil {
			return nil, err
		}
		cr.CreatedAt, cr.ResolvedAt, cr.ResolvedVer = fromMicros(created), fromNullMicros(resolved), int(ver.Int64)
		out = append(out, cr)
	}
	return out, rows.Err()
}

// visible restricts a query on catalog_entries e to what scope may see.
func (s *Store) visible(w *where, scope cityhub.CatalogScope) {
	if scope.All {
		return
	}
	cond := "e.status = 'published'"
	for _, d := range scope.Departments {
		cond += " OR e.provider_id = ?"
		w.args = append(w.args, d)
	}
	w.conds = append(w.conds, "("+cond+")")
}

// matchQuery returns the full-text condition for phrases and its argument:
// an FTS5 MATCH on SQLite, a tsquery on PostgreSQL. Terms hold only letters
// and digits (cityhub.SearchTerms), so quoting them is safe.
func (s *Store) matchQuery(phrases [][]string) (cond string, arg string) {
	parts := make([]string, len(phrases))
	if s.dialect == Postgres {
		for i, p := range phrases {
			parts[i] = "'" + strings.Join(p, "' <-> '") + "'"
		}
		return "e.search @@ to_tsquery('simple', ?)", strings.Join(parts, " & ")
	}
	for i, p := range phrases {
		parts[i] = `"` + strings.Join(p, " ") + `"`
	}
	return "e.id IN (SELECT rowid FROM catalog_search WHERE catalog_search MATCH ?)", strings.Join(parts, " AND ")
}

func (s *Store) SearchCatalog(ctx context.Context, cq cityhub.CatalogQuery) (*cityhub.CatalogResult, error) {
	var w where
	if cq.Public {
		w.add("e.status = ? AND e.open_type IN (?, ?)", cityhub.StatusPublished, cityhub.Unconditional, cityhub.Conditional)
	} else {
		s.visible(&w, cq.Scope)
	}
	phrases := cityhub.SearchPhrases(cq.Q)
	var match string
	if len(phrases) > 0 {
		cond, arg := s.matchQuery(phrases)
		w.add(cond, arg)
		match = arg
	} else if strings.TrimSpace(cq.Q) != "" {
		// Only punctuation: nothing can match.
		return &cityhub.CatalogResult{Entries: []*cityhub.CatalogEntry{}}, nil
	}
	if cq.Classification != "" {
		w.add(`e.classification_code LIKE ? ESCAPE '\'`, strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(cq.Classification)+"%")
	}
	for _, f := range []struct{ col, val string }{{"e.share_type", cq.ShareType}, {"e.open_type", cq.OpenType},
		{"e.format", cq.Format}, {"e.update_cycle", cq.UpdateCycle}, {"e.domain", cq.Domain}, {"e.status", cq.Status}} {
		if f.val != "" {
			w.add(f.col+" = ?", f.val)
		}
	}
	if cq.ProviderID > 0 {
		w.add("e.provider_id = ?", cq.ProviderID)
	}
	if cq.Tag != "" {
		w.add("e.id IN (SELECT entry_id FROM catalog_tags WHERE tag = ?)", cq.Tag)
	}
	if from, to := cq.ModifiedBounds(); from != math.MinInt64 || to != math.MaxInt64 {
		w.add("e.updated_at BETWEEN ? AND ?", from, to)
	}
	if err := cq.CheckSets(); err != nil {
		return nil, err
	}
	for _, m := range []struct {
		sets map[string][]string
		not  string
	}{{cq.AnyOf, ""}, {cq.NoneOf, "NOT "}} {
		for name, vals := range m.sets {
			if len(vals) == 0 {
				if m.not == "" {
					w.add("1 = 0") // any of no values
				}
				continue
			}
			args := make([]any, len(vals))
			for i, v := range vals {
				args[i] = v
			}
			in := m.not + "IN (?" + strings.Repeat(", ?", len(vals)-1) + ")"
			switch name {
			case "tag":
				w.add("e.id "+m.not+"IN (SELECT entry_id FROM catalog_tags WHERE tag IN (?"+strings.Repeat(", ?", len(vals)-1)+"))", args...)
			case "provider":
				for i, v := range vals {
					args[i], _ = strconv.ParseInt(v, 10, 64) // CheckSets: ids
				}
				w.add("e.provider_id "+in, args...)
			default: // the column is the facet's name
				w.add("e."+name+" "+in, args...)
			}
		}
	}
	res := &cityhub.CatalogResult{}
	if err := s.read().row(ctx, "SELECT COUNT(*) FROM catalog_entries e"+w.String(), w.args...).Scan(&res.Total); err != nil {
		return nil, s.translate(err)
	}
	limit, offset := page(cq.Limit, cq.Offset)
	from, args := entryFrom, append([]any{}, w.args...)
	order := "e.updated_at DESC, e.id DESC"
	switch {
	case cq.Sort == "name":
		order = "e.name, e.id"
	case cq.Sort == "code":
		order = "e.code"
	case cq.Sort == "updated":
	case match != "" && s.dialect == Postgres:
		order = "ts_rank(e.search, to_tsquery('simple', ?)) DESC, e.updated_at DESC"
		args = append(args, match)
	case match != "":
		// bm25 weights: name, body, items, tags.
		from += " JOIN (SELECT rowid AS id, bm25(catalog_search, 10.0, 1.0, 3.0, 5.0) AS rank FROM catalog_search WHERE catalog_search MATCH ?) r ON r.id = e.id"
		args = append([]any{match}, args...)
		order = "r.rank, e.updated_at DESC"
	}
	rows, err := s.read().query(ctx, "SELECT "+entryColumns+from+w.String()+" ORDER BY "+order+" LIMIT ? OFFSET ?",
		append(args, limit, offset)...)
	if err != nil {
		return nil, s.translate(err)
	}
	defer rows.Close()
	res.Entries = []*cityhub.CatalogEntry{}
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		res.Entries = append(res.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if cq.Facets {
		if res.Facets, err = s.facets(ctx, w); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// facets counts the matching entries by each facet's values, most first.
func (s *Store) facets(ctx context.Context, w where) (map[string][]cityhub.FacetValue, error) {
	queries := map[string]string{
		"classification": "SELECT e.classification_code, COUNT(*) FROM catalog_entries e" + w.String() + " GROUP BY e.classification_code",
		"provider": "SELECT CAST(e.provider_id AS TEXT), COUNT(*) FROM catalog_entries e" + w.String() +
			" GROUP BY e.provider_id",
		"share_type":   "SELECT e.share_type, COUNT(*) FROM catalog_entries e" + w.String() + " GROUP BY e.share_type",
		"open_type":    "SELECT e.open_type, COUNT(*) FROM catalog_entries e" + w.String() + " GROUP BY e.open_type",
		"format":       "SELECT e.format, COUNT(*) FROM catalog_entries e" + w.String() + " GROUP BY e.format",
		"update_cycle": "SELECT e.update_cycle, COUNT(*) FROM catalog_entries e" + w.String() + " GROUP BY e.update_cycle",
		"domain":       "SELECT COALESCE(e.domain, ''), COUNT(*) FROM catalog_entries e" + w.String() + " GROUP BY e.domain",
		"status":       "SELECT e.status, COUNT(*) FROM catalog_entries e" + w.String() + " GROUP BY e.status",
		"tag": "SELECT t.tag, COUNT(*) FROM catalog_tags t JOIN catalog_entries e ON e.id = t.entry_id" + w.String() +
			" GROUP BY t.tag",
	}
	out := map[string][]cityhub.FacetValue{}
	for _, name := range cityhub.FacetNames {
		rows, err := s.read().query(ctx, queries[name], w.args...)
		if err != nil {
			return nil, err
		}
		var vals []cityhub.FacetValue
		for rows.Next() {
			var v cityhub.FacetValue
			if err := rows.Scan(&v.Value, &v.Count); err != nil {
				rows.Close()
				return nil, err
			}
			if v.Value != "" {
				vals = append(vals, v)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if name == "classification" {
			vals = rollUpClassifications(vals)
		}
		out[name] = cityhub.TopFacetValues(vals)
	}
	return out, nil
}

// rollUpClassifications counts entries at their 类 and 项, the levels a
// facet shows; deeper codes add to both.
func rollUpClassifications(vals []cityhub.FacetValue) []cityhub.FacetValue {
	counts := map[string]int{}
	for _, v := range vals {
		counts[v.Value[:1]] += v.Count
		if len(v.Value) >= 3 {
			counts[v.Value[:3]] += v.Count
		}
	}
	out := make([]cityhub.FacetValue, 0, len(counts))
	for code, n := range counts {
		out = append(out, cityhub.FacetValue{Value: code, Count: n})
	}
	return out
}

func (s *Store) CatalogStats(ctx context.Context, sq cityhub.StatsQuery) (*cityhub.CatalogStats, error) {
	var w where
	if sq.ProviderID > 0 {
		w.add("e.provider_id = ?", sq.ProviderID)
	}
	// overdue: published, with a cycle, and data older than the cycle allows.
	overdue := "CASE WHEN e.status = 'published' AND COALESCE(e.data_updated_at, e.created_at) < CASE e.update_cycle"
	var cutoffs []any
	for _, c := range cityhub.UpdateCycles {
		if d := cityhub.CycleLength(c.Code); d > 0 {
			overdue += " WHEN '" + c.Code + "' THEN ?"
			cutoffs = append(cutoffs, micros(sq.Now.Add(-d)))
		}
	}
	// ELSE 0 would type the cutoffs as integer on PostgreSQL, which
	// microseconds overflow: keep the CASE bigint.
	overdue += " ELSE CAST(0 AS BIGINT) END THEN 1 ELSE 0 END"
	rows, err := s.read().query(ctx, `SELECT e.provider_id, COALESCE(d.name, ''), e.status, e.share_type, e.open_type,
		COALESCE(e.domain, ''), `+overdue+`, COUNT(*) FROM catalog_entries e LEFT JOIN departments d ON d.id = e.provider_id`+
		w.String()+` GROUP BY 1, 2, 3, 4, 5, 6, 7`, append(cutoffs, w.args...)...)
	if err != nil {
		return nil, err
	}
	st := &cityhub.CatalogStats{ByStatus: map[string]int{}, ShareTypes: map[string]int{}, OpenTypes: map[string]int{}}
	depts := map[int64]*cityhub.DepartmentCatalogs{}
	domains := map[string]*cityhub.DomainRate{}
	for rows.Next() {
		var provider int64
		var name, status, share, open, domain string
		var late, n int
		if err := rows.Scan(&provider, &name, &status, &share, &open, &domain, &late, &n); err != nil {
			rows.Close()
			return nil, err
		}
		d := depts[provider]
		if d == nil {
			d = &cityhub.DepartmentCatalogs{ProviderID: provider, Name: name}
			depts[provider] = d
		}
		st.Entries += n
		d.Entries += n
		st.ByStatus[status] += n
		st.ShareTypes[share] += n
		st.OpenTypes[open] += n
		st.OverdueUpdates += late * n
		d.OverdueUpdates += late * n
		published := status == cityhub.StatusPublished
		if published {
			d.Published += n
		}
		if open == cityhub.NotShared || status == cityhub.StatusWithdrawn {
			continue
		}
		d.Openable += n
		dr := domains[domain]
		if dr == nil {
			dr = &cityhub.DomainRate{Domain: domain}
			domains[domain] = dr
		}
		dr.Openable += n
		if published {
			d.PublishedOpen += n
			dr.Published += n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	var cw where
	cw.add("c.resolved_at IS NULL")
	cw.add("c.created_at < ?", micros(sq.ChangeDeadline))
	if sq.ProviderID > 0 {
		cw.add("e.provider_id = ?", sq.ProviderID)
	}
	crows, err := s.read().query(ctx, `SELECT e.provider_id, COUNT(DISTINCT e.id) FROM catalog_change_requests c
		JOIN catalog_entries e ON e.id = c.entry_id`+cw.String()+" GROUP BY e.provider_id", cw.args...)
	if err != nil {
		return nil, err
	}
	for crows.Next() {
		var provider int64
		var n int
		if err := crows.Scan(&provider, &n); err != nil {
			crows.Close()
			return nil, err
		}
		st.OverdueChanges += n
		if d := depts[provider]; d != nil {
			d.OverdueChanges += n
		}
	}
	crows.Close()
	if err := crows.Err(); err != nil {
		return nil, err
	}

	all, err := s.Domains(ctx)
	if err != nil {
		return nil, err
	}
	for _, dom := range all {
		dr := domains[dom.Code]
		if dr == nil {
			dr = &cityhub.DomainRate{Domain: dom.Code}
		}
		dr.Name, dr.Key = dom.Name, dom.Key
		if dr.Openable > 0 {
			dr.Rate = float64(dr.Published) / float64(dr.Openable)
		}
		st.Domains = append(st.Domains, *dr)
	}
	for _, d := range depts {
		if d.Openable > 0 {
			d.OpenRate = float64(d.PublishedOpen) / float64(d.Openable)
		}
		st.Departments = append(st.Departments, *d)
	}
	slices.SortFunc(st.Departments, func(a, b cityhub.DepartmentCatalogs) int {
		if a.Entries != b.Entries {
			return b.Entries - a.Entries
		}
		return int(a.ProviderID - b.ProviderID)
	})
	return st, nil
}
