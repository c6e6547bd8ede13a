package sqlstore

import (
	"context"
	"database/sql"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
)

// Public engagement on the open-data portal: applications for 有条件开放
// data, dataset requests, ratings, comments and the showcase. Each change
// checks the rules (cityhub.User.Can…) against the acting user as stored,
// in the transaction that makes it, and is audited with it.

// actingUser loads the user acting in ctx inside tx.
func (s *Store) actingUser(ctx context.Context, tx q) (*cityhub.User, error) {
	a := cityhub.ActorFrom(ctx)
	if a.UserID <= 0 {
		return nil, cityhub.Errorf(cityhub.EUNAUTHORIZED, "sign in first")
	}
	u, err := scanUser(tx.row(ctx, "SELECT "+userColumns+" FROM users WHERE id = ?", a.UserID))
	if err == sql.ErrNoRows || err == nil && u.Disabled {
		return nil, cityhub.Errorf(cityhub.EUNAUTHORIZED, "your account no longer signs in")
	}
	return u, err
}

// publicEntry reads an entry the public may see inside tx (locking it on
// PostgreSQL); any other entry is not found.
func (s *Store) publicEntry(ctx context.Context, tx q, id int64) (*cityhub.CatalogEntry, error) {
	e, err := s.lockedEntry(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if !e.PublicMetadata() {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "dataset %d not found", id)
	}
	return e, nil
}

// entryIn reads an entry inside tx; nil when there is none.
func entryIn(ctx context.Context, tx q, id int64) (*cityhub.CatalogEntry, error) {
	e, err := scanEntry(tx.row(ctx, "SELECT "+entryColumns+entryFrom+" WHERE e.id = ?", id))
	if err == sql.ErrNoRows {
		return nil, nil
	}
	return e, err
}

// forUpdate locks one row of table by id on PostgreSQL (SQLite's
// IMMEDIATE transactions hold the write lock already); a missing row is
// not found as what.
func (s *Store) forUpdate(ctx context.Context, tx q, table string, id int64, what string) error {
	var one int
	err := tx.row(ctx, "SELECT 1 FROM "+table+" WHERE id = ?"+s.lockSuffix(), id).Scan(&one)
	if err == sql.ErrNoRows {
		return cityhub.Errorf(cityhub.ENOTFOUND, "%s %d not found", what, id)
	}
	return err
}

func (s *Store) stamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// personName is how the public sees a person: display name, else user name.
func personName(username, display string) string {
	if display = strings.TrimSpace(display); display != "" {
		return display
	}
	return username
}

func packageName(code string) string { return (&cityhub.CatalogEntry{Code: code}).PackageName() }

func publicStatus(status, openType string) bool {
	return (&cityhub.CatalogEntry{Status: status, OpenType: openType}).PublicMetadata()
}

func inArgs[T any](vals []T) (string, []any) {
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return "(?" + strings.Repeat(", ?", len(vals)-1) + ")", args
}

// Applications for 有条件开放 data.

func applicationObject(id int64) string { return "open_application:" + strconv.FormatInt(id, 10) }

const applicationColumns = `a.id, a.entry_id, a.user_id, a.purpose, a.intended_use, a.organization, a.status, a.reason,
	a.decided_by, a.decided_at, a.expires_at, a.created_at, u.username, u.display_name, e.name, e.code, e.provider_id,
	COALESCE(d.name, '')`

const applicationFrom = ` FROM open_applications a JOIN users u ON u.id = a.user_id
	JOIN catalog_entries e ON e.id = a.entry_id LEFT JOIN departments d ON d.id = e.provider_id`

func (s *Store) scanApplication(row interface{ Scan(...any) error }) (*cityhub.AccessApplication, error) {
	var a cityhub.AccessApplication
	var decided, expires sql.NullInt64
	var created int64
	var code string
	if err := row.Scan(&a.ID, &a.EntryID, &a.UserID, &a.Purpose, &a.IntendedUse, &a.Organization, &a.Status, &a.Reason,
		&a.DecidedBy, &decided, &expires, &created, &a.Applicant, &a.ApplicantName, &a.EntryName, &code, &a.ProviderID,
		&a.ProviderName); err != nil {
		return nil, err
	}
	a.DecidedAt, a.ExpiresAt, a.CreatedAt = fromNullMicros(decided), fromNullMicros(expires), fromMicros(created)
	a.PackageName = packageName(code)
	a.Expired = a.Status == cityhub.ApplicationApproved && !a.Grants(s.now())
	return &a, nil
}

func (s *Store) application(ctx context.Context, db q, id int64) (*cityhub.AccessApplication, error) {
	a, err := s.scanApplication(db.row(ctx, "SELECT "+applicationColumns+applicationFrom+" WHERE a.id = ?", id))
	if err == sql.ErrNoRows {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "application %d not found", id)
	}
	return a, err
}

func (s *Store) CreateAccessApplication(ctx context.Context, a *cityhub.AccessApplication) error {
	if err := a.Validate(); err != nil {
		return err
	}
	return s.change(ctx, "open.application.create", func(tx q) (string, any, error) {
		u, err := s.actingUser(ctx, tx)
		if err != nil {
			return "", nil, err
		}
		if !u.CanApplyForData() {
			return "", nil, cityhub.Errorf(cityhub.EFORBIDDEN, "only public accounts apply for open data; departments use data sharing")
		}
		e, err := s.publicEntry(ctx, tx, a.EntryID)
		if err != nil {
			return "", nil, err
		}
		if !e.AcceptsApplications() {
			return "", nil, cityhub.Errorf(cityhub.ECONFLICT, "dataset %s is open unconditionally: its data needs no application", e.PackageName())
		}
		now := s.stamp()
		rows, err := tx.query(ctx, "SELECT status, expires_at FROM open_applications WHERE user_id = ? AND entry_id = ? AND status IN (?, ?)",
			u.ID, e.ID, cityhub.ApplicationPending, cityhub.ApplicationApproved)
		if err != nil {
			return "", nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var old cityhub.AccessApplication
			var expires sql.NullInt64
			if err := rows.Scan(&old.Status, &expires); err != nil {
				return "", nil, err
			}
			old.ExpiresAt = fromNullMicros(expires)
			if old.Open(now) {
				return "", nil, &cityhub.Error{Code: cityhub.ECONFLICT, Message: "you have an open application for this dataset already",
					Fields: map[string]string{"entry_id": "an application is " + old.Status}}
			}
		}
		if err := rows.Err(); err != nil {
			return "", nil, err
		}
		rows.Close()
		a.UserID, a.Status, a.CreatedAt = u.ID, cityhub.ApplicationPending, now
		a.Reason, a.DecidedBy, a.DecidedAt, a.ExpiresAt, a.Expired = "", "", nil, nil, false
		if err := tx.row(ctx, `INSERT INTO open_applications (entry_id, user_id, purpose, intended_use, organization, status, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, e.ID, u.ID, a.Purpose, a.IntendedUse, a.Organization, a.Status,
			micros(now)).Scan(&a.ID); err != nil {
			return "", nil, err
		}
		a.Applicant, a.ApplicantName = u.Username, u.DisplayName
		a.EntryName, a.PackageName, a.ProviderID, a.ProviderName = e.Name, e.PackageName(), e.ProviderID, e.ProviderName
		return applicationObject(a.ID), a, nil
	})
}

func (s *Store) DecideAccessApplication(ctx context.Context, id int64, d cityhub.ApplicationDecision) (*cityhub.AccessApplication, error) {
	switch d.Action {
	case cityhub.DecideApprove, cityhub.DecideRefuse, cityhub.DecideRevoke:
	default:
		return nil, &cityhub.Error{Code: cityhub.EINVALID, Message: "invalid decision",
			Fields: map[string]string{"action": "approve, refuse or revoke"}}
	}
	var out *cityhub.AccessApplication
	err := s.change(ctx, "open.application."+d.Action, func(tx q) (string, any, error) {
		u, err := s.actingUser(ctx, tx)
		if err != nil {
			return "", nil, err
		}
		var entryID int64
		if err := tx.row(ctx, "SELECT entry_id FROM open_applications WHERE id = ?", id).Scan(&entryID); err != nil {
			if err == sql.ErrNoRows {
				return "", nil, cityhub.Errorf(cityhub.ENOTFOUND, "application %d not found", id)
			}
			return "", nil, err
		}
		// The entry's lock orders decisions and new applications for it.
		e, err := s.lockedEntry(ctx, tx, entryID)
		if err != nil {
			return "", nil, err
		}
		a, err := s.application(ctx, tx, id)
		if err != nil {
			return "", nil, err
		}
		if !u.CanDecideApplication(e.ProviderID) {
			return "", nil, cityhub.Errorf(cityhub.EFORBIDDEN, "only the provider's data stewards decide applications for its data")
		}
		now := s.stamp()
		to, err := a.NextStatus(&d, now)
		if err != nil {
			return "", nil, err
		}
		if to == cityhub.ApplicationApproved && !e.AcceptsApplications() {
			return "", nil, cityhub.Errorf(cityhub.ECONFLICT, "the dataset is no longer open on conditions; refuse the application instead")
		}
		expires := a.ExpiresAt
		if d.Action == cityhub.DecideApprove {
			expires = nil
			if d.ExpiresAt != nil {
				t := d.ExpiresAt.UTC().Truncate(time.Microsecond)
				expires = &t
			}
		}
		if _, err := tx.exec(ctx, `UPDATE open_applications SET status = ?, reason = ?, decided_by = ?, decided_at = ?, expires_at = ?
			WHERE id = ?`, to, d.Reason, u.Username, micros(now), nullMicros(expires), id); err != nil {
			return "", nil, err
		}
		a.Status, a.Reason, a.DecidedBy, a.DecidedAt, a.ExpiresAt = to, d.Reason, u.Username, &now, expires
		a.Expired = false
		out = a
		return applicationObject(id), map[string]any{"entry_id": a.EntryID, "user_id": a.UserID, "status": to,
			"reason": d.Reason, "expires_at": expires}, nil
	})
	return out, err
}

func (s *Store) AccessApplication(ctx context.Context, id int64) (*cityhub.AccessApplication, error) {
	return s.application(ctx, s.read(), id)
}

func (s *Store) AccessApplications(ctx context.Context, f cityhub.ApplicationFilter) ([]*cityhub.AccessApplication, int, error) {
	var w where
	if !f.Scope.All {
		if len(f.Scope.Departments) == 0 {
			return nil, 0, nil
		}
		in, args := inArgs(f.Scope.Departments)
		w.add("e.provider_id IN "+in, args...)
	}
	if f.UserID > 0 {
		w.add("a.user_id = ?", f.UserID)
	}
	if f.EntryID > 0 {
		w.add("a.entry_id = ?", f.EntryID)
	}
	if f.Status != "" {
		w.add("a.status = ?", f.Status)
	}
	var total int
	if err := s.read().row(ctx, "SELECT COUNT(*)"+applicationFrom+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	limit, offset := page(f.Limit, f.Offset)
	rows, err := s.read().query(ctx, "SELECT "+applicationColumns+applicationFrom+w.String()+" ORDER BY a.id DESC LIMIT ? OFFSET ?",
		append(w.args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*cityhub.AccessApplication
	for rows.Next() {
		a, err := s.scanApplication(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, a)
	}
	return out, total, rows.Err()
}

func (s *Store) AccessGranted(ctx context.Context, userID, entryID int64) (bool, error) {
	var n int
	err := s.read().row(ctx, `SELECT COUNT(*) FROM open_applications a JOIN catalog_entries e ON e.id = a.entry_id
		JOIN users u ON u.id = a.user_id
		WHERE a.user_id = ? AND a.entry_id = ? AND a.status = ? AND (a.expires_at IS NULL OR a.expires_at > ?)
		AND e.status = ? AND e.open_type = ? AND u.disabled = ?`,
		userID, entryID, cityhub.ApplicationApproved, micros(s.now()), cityhub.StatusPublished, cityhub.Conditional, false).Scan(&n)
	return n > 0, err
}

// Dataset requests (数据需求).

func requestObject(id int64) string { return "open_request:" + strconv.FormatInt(id, 10) }

const requestColumns = `r.id, r.user_id, r.title, r.description, r.provider_id, COALESCE(r.domain, ''), r.status, r.reply,
	r.entry_id, r.answered_by, r.answered_at, r.created_at, r.updated_at, u.username, u.display_name, COALESCE(d.name, ''),
	COALESCE(dm.name, ''), COALESCE(e.name, ''), COALESCE(e.code, ''), COALESCE(e.status, ''), COALESCE(e.open_type, '')`

const requestFrom = ` FROM open_requests r JOIN users u ON u.id = r.user_id LEFT JOIN departments d ON d.id = r.provider_id
	LEFT JOIN domains dm ON dm.code = r.domain LEFT JOIN catalog_entries e ON e.id = r.entry_id`

func scanRequest(row interface{ Scan(...any) error }) (*cityhub.DataRequest, error) {
	var r cityhub.DataRequest
	var provider, entry, answered sql.NullInt64
	var created, updated int64
	var username, display, entryName, code, status, openType string
	if err := row.Scan(&r.ID, &r.UserID, &r.Title, &r.Description, &provider, &r.Domain, &r.Status, &r.Reply,
		&entry, &r.AnsweredBy, &answered, &created, &updated, &username, &display, &r.ProviderName,
		&r.DomainName, &entryName, &code, &status, &openType); err != nil {
		return nil, err
	}
	if provider.Valid {
		r.ProviderID = &provider.Int64
	}
	// A fulfilled request links its entry while the public may see it.
	if entry.Valid && publicStatus(status, openType) {
		r.EntryID, r.EntryName, r.PackageName = &entry.Int64, entryName, packageName(code)
	}
	r.AnsweredAt, r.CreatedAt, r.UpdatedAt = fromNullMicros(answered), fromMicros(created), fromMicros(updated)
	r.Requester = personName(username, display)
	return &r, nil
}

func (s *Store) dataRequest(ctx context.Context, db q, id int64) (*cityhub.DataRequest, error) {
	r, err := scanRequest(db.row(ctx, "SELECT "+requestColumns+requestFrom+" WHERE r.id = ?", id))
	if err == sql.ErrNoRows {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "data request %d not found", id)
	}
	return r, err
}

func (s *Store) CreateDataRequest(ctx context.Context, r *cityhub.DataRequest) error {
	if err := r.Validate(); err != nil {
		return err
	}
	return s.change(ctx, "open.request.create", func(tx q) (string, any, error) {
		u, err := s.actingUser(ctx, tx)
		if err != nil {
			return "", nil, err
		}
		if !u.CanRequestData() {
			return "", nil, cityhub.Errorf(cityhub.EFORBIDDEN, "only public accounts file data requests")
		}
		var one int
		if r.ProviderID != nil {
			if err := tx.row(ctx, "SELECT 1 FROM departments WHERE id = ?", *r.ProviderID).Scan(&one); err == sql.ErrNoRows {
				return "", nil, &cityhub.Error{Code: cityhub.EINVALID, Message: "invalid data request",
					Fields: map[string]string{"provider_id": "no such department"}}
			} else if err != nil {
				return "", nil, err
			}
		}
		if r.Domain != "" {
			if err := tx.row(ctx, "SELECT 1 FROM domains WHERE code = ?", r.Domain).Scan(&one); err == sql.ErrNoRows {
				return "", nil, &cityhub.Error{Code: cityhub.EINVALID, Message: "invalid data request",
					Fields: map[string]string{"domain": "unknown open-data domain"}}
			} else if err != nil {
				return "", nil, err
			}
		}
		now := s.stamp()
		var id int64
		if err := tx.row(ctx, `INSERT INTO open_requests (user_id, title, description, provider_id, domain, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, u.ID, r.Title, r.Description, r.ProviderID, nullString(r.Domain),
			cityhub.RequestOpen, micros(now), micros(now)).Scan(&id); err != nil {
			return "", nil, err
		}
		got, err := s.dataRequest(ctx, tx, id)
		if err != nil {
			return "", nil, err
		}
		*r = *got
		return requestObject(id), r, nil
	})
}

func (s *Store) AnswerDataRequest(ctx context.Context, id int64, a cityhub.RequestAnswer) (*cityhub.DataRequest, error) {
	var out *cityhub.DataRequest
	err := s.change(ctx, "open.request.answer", func(tx q) (string, any, error) {
		u, err := s.actingUser(ctx, tx)
		if err != nil {
			return "", nil, err
		}
		if err := s.forUpdate(ctx, tx, "open_requests", id, "data request"); err != nil {
			return "", nil, err
		}
		r, err := s.dataRequest(ctx, tx, id)
		if err != nil {
			return "", nil, err
		}
		if !u.CanAnswerRequest(r) {
			return "", nil, cityhub.Errorf(cityhub.EFORBIDDEN, "only the platform and the department asked answer a data request")
		}
		if err := r.Check(&a); err != nil {
			return "", nil, err
		}
		if a.EntryID != nil {
			e, err := entryIn(ctx, tx, *a.EntryID)
			if err != nil {
				return "", nil, err
			}
			if e == nil || !e.PublicMetadata() {
				return "", nil, &cityhub.Error{Code: cityhub.EINVALID, Message: "invalid answer",
					Fields: map[string]string{"entry_id": "not a dataset on the open-data portal"}}
			}
		}
		now := s.stamp()
		if _, err := tx.exec(ctx, `UPDATE open_requests SET status = ?, reply = ?, entry_id = ?, answered_by = ?, answered_at = ?,
			updated_at = ? WHERE id = ?`, a.Status, a.Reply, a.EntryID, u.Username, micros(now), micros(now), id); err != nil {
			return "", nil, err
		}
		if out, err = s.dataRequest(ctx, tx, id); err != nil {
			return "", nil, err
		}
		return requestObject(id), map[string]any{"status": a.Status, "reply": a.Reply, "entry_id": a.EntryID}, nil
	})
	return out, err
}

func (s *Store) DataRequest(ctx context.Context, id int64) (*cityhub.DataRequest, error) {
	return s.dataRequest(ctx, s.read(), id)
}

func (s *Store) DataRequests(ctx context.Context, f cityhub.DataRequestFilter) ([]*cityhub.DataRequest, int, error) {
	var w where
	if f.Status != "" {
		w.add("r.status = ?", f.Status)
	}
	if f.ProviderID > 0 {
		w.add("r.provider_id = ?", f.ProviderID)
	}
	if f.Domain != "" {
		w.add("r.domain = ?", f.Domain)
	}
	if f.UserID > 0 {
		w.add("r.user_id = ?", f.UserID)
	}
	if f.Query != "" {
		p := likeEscape(f.Query)
		w.add(`(LOWER(r.title) LIKE ? ESCAPE '\' OR LOWER(r.description) LIKE ? ESCAPE '\')`, p, p)
	}
	var total int
	if err := s.read().row(ctx, "SELECT COUNT(*) FROM open_requests r"+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	limit, offset := page(f.Limit, f.Offset)
	rows, err := s.read().query(ctx, "SELECT "+requestColumns+requestFrom+w.String()+" ORDER BY r.id DESC LIMIT ? OFFSET ?",
		append(w.args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*cityhub.DataRequest
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// Ratings and comments.

func commentObject(id int64) string { return "open_comment:" + strconv.FormatInt(id, 10) }

func (s *Store) RateEntry(ctx context.Context, entryID int64, stars int) (*cityhub.RatingSummary, error) {
	if err := cityhub.ValidateStars(stars); err != nil {
		return nil, err
	}
	var out *cityhub.RatingSummary
	err := s.change(ctx, "open.rating.set", func(tx q) (string, any, error) {
		u, err := s.actingUser(ctx, tx)
		if err != nil {
			return "", nil, err
		}
		if !u.CanRateAndComment() {
			return "", nil, cityhub.Errorf(cityhub.EFORBIDDEN, "only public accounts rate datasets")
		}
		if _, err := s.publicEntry(ctx, tx, entryID); err != nil {
			return "", nil, err
		}
		now := micros(s.stamp())
		if _, err := tx.exec(ctx, `INSERT INTO open_ratings (entry_id, user_id, stars, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (entry_id, user_id) DO UPDATE SET stars = excluded.stars, updated_at = excluded.updated_at`,
			entryID, u.ID, stars, now, now); err != nil {
			return "", nil, err
		}
		sums, err := s.ratingSummaries(ctx, tx, []int64{entryID})
		if err != nil {
			return "", nil, err
		}
		out = sums[entryID]
		return entryObject(entryID), map[string]any{"user_id": u.ID, "stars": stars}, nil
	})
	return out, err
}

func (s *Store) UserRating(ctx context.Context, entryID, userID int64) (int, error) {
	var stars int
	err := s.read().row(ctx, "SELECT stars FROM open_ratings WHERE entry_id = ? AND user_id = ?", entryID, userID).Scan(&stars)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	return stars, err
}

func (s *Store) RatingSummaries(ctx context.Context, entryIDs []int64) (map[int64]*cityhub.RatingSummary, error) {
	return s.ratingSummaries(ctx, s.read(), entryIDs)
}

func (s *Store) ratingSummaries(ctx context.Context, db q, entryIDs []int64) (map[int64]*cityhub.RatingSummary, error) {
	out := map[int64]*cityhub.RatingSummary{}
	for _, id := range entryIDs {
		out[id] = &cityhub.RatingSummary{EntryID: id}
	}
	ids := slices.Sorted(maps.Keys(out))
	for chunk := range slices.Chunk(ids, 500) {
		in, args := inArgs(chunk)
		rows, err := db.query(ctx, "SELECT entry_id, stars, COUNT(*) FROM open_ratings WHERE entry_id IN "+in+" GROUP BY entry_id, stars", args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			var stars, n int
			if err := rows.Scan(&id, &stars, &n); err != nil {
				rows.Close()
				return nil, err
			}
			if sum := out[id]; sum != nil && stars >= 1 && stars <= 5 {
				sum.Stars[stars-1] += n
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	for _, sum := range out {
		total := 0
		for i, n := range sum.Stars {
			sum.Count += n
			total += (i + 1) * n
		}
		if sum.Count > 0 {
			sum.Average = math.Round(float64(total)/float64(sum.Count)*100) / 100
		}
	}
	return out, nil
}

const commentColumns = `c.id, c.entry_id, c.parent_id, c.user_id, c.body, c.official, c.hidden, c.hidden_reason, c.hidden_by,
	c.hidden_at, c.created_at, u.username, u.display_name, COALESCE(r.stars, 0)`

const commentFrom = ` FROM open_comments c JOIN users u ON u.id = c.user_id
	LEFT JOIN open_ratings r ON r.entry_id = c.entry_id AND r.user_id = c.user_id`

func scanComment(row interface{ Scan(...any) error }) (*cityhub.Comment, error) {
	var c cityhub.Comment
	var parent, hiddenAt sql.NullInt64
	var created int64
	var username, display string
	if err := row.Scan(&c.ID, &c.EntryID, &parent, &c.UserID, &c.Body, &c.Official, &c.Hidden, &c.HiddenReason, &c.HiddenBy,
		&hiddenAt, &created, &username, &display, &c.Stars); err != nil {
		return nil, err
	}
	if parent.Valid {
		c.ParentID = &parent.Int64
	}
	c.HiddenAt, c.CreatedAt = fromNullMicros(hiddenAt), fromMicros(created)
	c.Author = personName(username, display)
	if c.Official {
		c.Stars = 0 // a provider's reply is no rating
	}
	return &c, nil
}

func (s *Store) comment(ctx context.Context, db q, id int64) (*cityhub.Comment, error) {
	c, err := scanComment(db.row(ctx, "SELECT "+commentColumns+commentFrom+" WHERE c.id = ?", id))
	if err == sql.ErrNoRows {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "comment %d not found", id)
	}
	return c, err
}

func (s *Store) CreateComment(ctx context.Context, c *cityhub.Comment) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return s.change(ctx, "open.comment.create", func(tx q) (string, any, error) {
		u, err := s.actingUser(ctx, tx)
		if err != nil {
			return "", nil, err
		}
		e, err := s.publicEntry(ctx, tx, c.EntryID)
		if err != nil {
			return "", nil, err
		}
		official := false
		if c.ParentID == nil {
			if !u.CanRateAndComment() {
				return "", nil, cityhub.Errorf(cityhub.EFORBIDDEN, "only public accounts comment on datasets; providers reply to comments")
			}
		} else {
			if !u.CanReplyToComments(e.ProviderID) {
				return "", nil, cityhub.Errorf(cityhub.EFORBIDDEN, "only the provider's data stewards reply to comments")
			}
			parent, err := s.comment(ctx, tx, *c.ParentID)
			if err != nil && cityhub.ErrorCode(err) != cityhub.ENOTFOUND {
				return "", nil, err
			}
			if parent == nil || parent.EntryID != e.ID || parent.ParentID != nil || parent.Hidden {
				return "", nil, &cityhub.Error{Code: cityhub.EINVALID, Message: "invalid comment",
					Fields: map[string]string{"parent_id": "not a visible comment on this dataset"}}
			}
			official = true
		}
		now := s.stamp()
		var id int64
		if err := tx.row(ctx, `INSERT INTO open_comments (entry_id, parent_id, user_id, body, official, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, e.ID, c.ParentID, u.ID, c.Body, official, micros(now)).Scan(&id); err != nil {
			return "", nil, err
		}
		got, err := s.comment(ctx, tx, id)
		if err != nil {
			return "", nil, err
		}
		*c = *got
		return commentObject(id), map[string]any{"entry_id": c.EntryID, "parent_id": c.ParentID, "official": c.Official, "body": c.Body}, nil
	})
}

func (s *Store) HideComment(ctx context.Context, id int64, reason string) (*cityhub.Comment, error) {
	reason = strings.TrimSpace(reason)
	f := cityhub.FieldErrors{}
	switch n := len([]rune(reason)); {
	case n == 0:
		f.Add("reason", "required")
	case n > cityhub.MaxReasonLen:
		f.Add("reason", "at most "+strconv.Itoa(cityhub.MaxReasonLen)+" characters")
	}
	if err := f.Err("invalid request"); err != nil {
		return nil, err
	}
	var out *cityhub.Comment
	err := s.change(ctx, "open.comment.hide", func(tx q) (string, any, error) {
		u, err := s.actingUser(ctx, tx)
		if err != nil {
			return "", nil, err
		}
		if !u.CanModerate() {
			return "", nil, cityhub.Errorf(cityhub.EFORBIDDEN, "only platform administrators hide comments")
		}
		if err := s.forUpdate(ctx, tx, "open_comments", id, "comment"); err != nil {
			return "", nil, err
		}
		c, err := s.comment(ctx, tx, id)
		if err != nil {
			return "", nil, err
		}
		if c.Hidden {
			return "", nil, cityhub.Errorf(cityhub.ECONFLICT, "comment %d is hidden already", id)
		}
		now := s.stamp()
		if _, err := tx.exec(ctx, "UPDATE open_comments SET hidden = ?, hidden_reason = ?, hidden_by = ?, hidden_at = ? WHERE id = ?",
			true, reason, u.Username, micros(now), id); err != nil {
			return "", nil, err
		}
		c.Hidden, c.HiddenReason, c.HiddenBy, c.HiddenAt = true, reason, u.Username, &now
		out = c
		// The record keeps what was hidden: the comment leaves the portal, not the trail.
		return commentObject(id), map[string]any{"entry_id": c.EntryID, "reason": reason, "body": c.Body}, nil
	})
	return out, err
}

func (s *Store) Comment(ctx context.Context, id int64) (*cityhub.Comment, error) {
	return s.comment(ctx, s.read(), id)
}

func (s *Store) Comments(ctx context.Context, f cityhub.CommentFilter) ([]*cityhub.Comment, int, error) {
	var w where
	w.add("c.entry_id = ?", f.EntryID)
	w.add("c.parent_id IS NULL")
	if !f.IncludeHidden {
		w.add("c.hidden = ?", false)
	}
	var total int
	if err := s.read().row(ctx, "SELECT COUNT(*) FROM open_comments c"+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	limit, offset := page(f.Limit, f.Offset)
	out, err := s.comments(ctx, "SELECT "+commentColumns+commentFrom+w.String()+" ORDER BY c.id DESC LIMIT ? OFFSET ?",
		append(w.args, limit, offset)...)
	if err != nil || len(out) == 0 {
		return out, total, err
	}
	byID := map[int64]*cityhub.Comment{}
	ids := make([]int64, len(out))
	for i, c := range out {
		byID[c.ID], ids[i] = c, c.ID
	}
	in, args := inArgs(ids)
	cond := " WHERE c.parent_id IN " + in
	if !f.IncludeHidden {
		cond += " AND c.hidden = ?"
		args = append(args, false)
	}
	replies, err := s.comments(ctx, "SELECT "+commentColumns+commentFrom+cond+" ORDER BY c.id", args...)
	if err != nil {
		return nil, 0, err
	}
	for _, r := range replies {
		if p := byID[*r.ParentID]; p != nil {
			p.Replies = append(p.Replies, r)
		}
	}
	return out, total, nil
}

func (s *Store) comments(ctx context.Context, query string, args ...any) ([]*cityhub.Comment, error) {
	rows, err := s.read().query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*cityhub.Comment
	for rows.Next() {
		c, err := scanComment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// The showcase (成果展示).

func showcaseObject(id int64) string { return "open_showcase:" + strconv.FormatInt(id, 10) }

const showcaseColumns = `i.id, i.title, i.description, i.url, COALESCE(i.submitter_id, 0), i.submitter, i.status, i.reason,
	i.decided_by, i.decided_at, i.created_at`

func scanShowcase(row interface{ Scan(...any) error }) (*cityhub.ShowcaseItem, error) {
	var it cityhub.ShowcaseItem
	var decided sql.NullInt64
	var created int64
	if err := row.Scan(&it.ID, &it.Title, &it.Description, &it.URL, &it.SubmitterID, &it.Submitter, &it.Status, &it.Reason,
		&it.DecidedBy, &decided, &created); err != nil {
		return nil, err
	}
	it.DecidedAt, it.CreatedAt = fromNullMicros(decided), fromMicros(created)
	it.EntryIDs, it.Datasets = []int64{}, []cityhub.ShowcaseDataset{}
	return &it, nil
}

// showcaseDatasets fills in the datasets of items that the public may
// still see.
func (s *Store) showcaseDatasets(ctx context.Context, db q, items []*cityhub.ShowcaseItem) error {
	if len(items) == 0 {
		return nil
	}
	byID := map[int64]*cityhub.ShowcaseItem{}
	ids := make([]int64, len(items))
	for i, it := range items {
		byID[it.ID], ids[i] = it, it.ID
	}
	in, args := inArgs(ids)
	rows, err := db.query(ctx, `SELECT sd.item_id, e.id, e.name, e.code, COALESCE(d.name, ''), e.status, e.open_type
		FROM open_showcase_datasets sd JOIN catalog_entries e ON e.id = sd.entry_id LEFT JOIN departments d ON d.id = e.provider_id
		WHERE sd.item_id IN `+in+` ORDER BY sd.item_id, e.id`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var item int64
		var ds cityhub.ShowcaseDataset
		var code, status, openType string
		if err := rows.Scan(&item, &ds.EntryID, &ds.Name, &code, &ds.ProviderName, &status, &openType); err != nil {
			return err
		}
		if it := byID[item]; it != nil && publicStatus(status, openType) {
			ds.PackageName = packageName(code)
			it.EntryIDs = append(it.EntryIDs, ds.EntryID)
			it.Datasets = append(it.Datasets, ds)
		}
	}
	return rows.Err()
}

func (s *Store) showcaseItem(ctx context.Context, db q, id int64) (*cityhub.ShowcaseItem, error) {
	it, err := scanShowcase(db.row(ctx, "SELECT "+showcaseColumns+" FROM open_showcase i WHERE i.id = ?", id))
	if err == sql.ErrNoRows {
		return nil, cityhub.Errorf(cityhub.ENOTFOUND, "showcase item %d not found", id)
	}
	if err != nil {
		return nil, err
	}
	return it, s.showcaseDatasets(ctx, db, []*cityhub.ShowcaseItem{it})
}

func (s *Store) CreateShowcaseItem(ctx context.Context, it *cityhub.ShowcaseItem) error {
	if err := it.Validate(); err != nil {
		return err
	}
	return s.change(ctx, "open.showcase.create", func(tx q) (string, any, error) {
		u, err := s.actingUser(ctx, tx)
		if err != nil {
			return "", nil, err
		}
		if !u.CanSubmitShowcase() {
			return "", nil, cityhub.Errorf(cityhub.EFORBIDDEN, "only public accounts and platform administrators submit to the showcase")
		}
		for _, id := range it.EntryIDs {
			e, err := entryIn(ctx, tx, id)
			if err != nil {
				return "", nil, err
			}
			if e == nil || !e.PublicMetadata() {
				return "", nil, &cityhub.Error{Code: cityhub.EINVALID, Message: "invalid showcase item",
					Fields: map[string]string{"entry_ids": "dataset " + strconv.FormatInt(id, 10) + " is not on the open-data portal"}}
			}
		}
		now := s.stamp()
		status, decidedBy, decidedAt := cityhub.ShowcasePending, "", sql.NullInt64{}
		if u.CanModerate() { // an administrator's own item needs no second look
			status, decidedBy, decidedAt = cityhub.ShowcaseApproved, u.Username, sql.NullInt64{Int64: micros(now), Valid: true}
		}
		var id int64
		if err := tx.row(ctx, `INSERT INTO open_showcase (title, description, url, submitter_id, submitter, status, decided_by, decided_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, it.Title, it.Description, it.URL, u.ID, personName(u.Username, u.DisplayName),
			status, decidedBy, decidedAt, micros(now)).Scan(&id); err != nil {
			return "", nil, err
		}
		for _, e := range it.EntryIDs {
			if _, err := tx.exec(ctx, "INSERT INTO open_showcase_datasets (item_id, entry_id) VALUES (?, ?)", id, e); err != nil {
				return "", nil, err
			}
		}
		got, err := s.showcaseItem(ctx, tx, id)
		if err != nil {
			return "", nil, err
		}
		*it = *got
		return showcaseObject(id), it, nil
	})
}

func (s *Store) DecideShowcaseItem(ctx context.Context, id int64, approve bool, reason string) (*cityhub.ShowcaseItem, error) {
	reason = strings.TrimSpace(reason)
	action := "open.showcase.approve"
	if !approve {
		action = "open.showcase.reject"
	}
	var out *cityhub.ShowcaseItem
	err := s.change(ctx, action, func(tx q) (string, any, error) {
		u, err := s.actingUser(ctx, tx)
		if err != nil {
			return "", nil, err
		}
		if !u.CanModerate() {
			return "", nil, cityhub.Errorf(cityhub.EFORBIDDEN, "only platform administrators approve showcase items")
		}
		if err := s.forUpdate(ctx, tx, "open_showcase", id, "showcase item"); err != nil {
			return "", nil, err
		}
		it, err := s.showcaseItem(ctx, tx, id)
		if err != nil {
			return "", nil, err
		}
		to, err := it.NextStatus(approve, reason)
		if err != nil {
			return "", nil, err
		}
		now := s.stamp()
		if _, err := tx.exec(ctx, "UPDATE open_showcase SET status = ?, reason = ?, decided_by = ?, decided_at = ? WHERE id = ?",
			to, reason, u.Username, micros(now), id); err != nil {
			return "", nil, err
		}
		it.Status, it.Reason, it.DecidedBy, it.DecidedAt = to, reason, u.Username, &now
		out = it
		return showcaseObject(id), map[string]any{"status": to, "reason": reason}, nil
	})
	return out, err
}

func (s *Store) ShowcaseItem(ctx context.Context, id int64) (*cityhub.ShowcaseItem, error) {
	return s.showcaseItem(ctx, s.read(), id)
}

func (s *Store) ShowcaseItems(ctx context.Context, f cityhub.ShowcaseFilter) ([]*cityhub.ShowcaseItem, int, error) {
	var w where
	if f.Status != "" {
		w.add("i.status = ?", f.Status)
	}
	if f.SubmitterID > 0 {
		w.add("i.submitter_id = ?", f.SubmitterID)
	}
	if f.EntryID > 0 {
		w.add("i.id IN (SELECT item_id FROM open_showcase_datasets WHERE entry_id = ?)", f.EntryID)
	}
	var total int
	if err := s.read().row(ctx, "SELECT COUNT(*) FROM open_showcase i"+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	limit, offset := page(f.Limit, f.Offset)
	rows, err := s.read().query(ctx, "SELECT "+showcaseColumns+" FROM open_showcase i"+w.String()+" ORDER BY i.id DESC LIMIT ? OFFSET ?",
		append(w.args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*cityhub.ShowcaseItem
	for rows.Next() {
		it, err := scanShowcase(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	rows.Close()
	return out, total, s.showcaseDatasets(ctx, s.read(), out)
}

var _ cityhub.EngagementService = (*Store)(nil)
