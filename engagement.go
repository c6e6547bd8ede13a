package cityhub

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Public engagement on the open-data portal: applications for 有条件开放
// data, dataset requests (数据需求), ratings and comments, and the showcase
// of applications built on open data (成果展示).
//
// The store applies the rules below to the user acting in the context
// (ActorFrom), loaded inside the transaction that makes the change, so a
// role taken away a moment ago no longer counts.

// Statuses of an application for 有条件开放 data.
const (
	ApplicationPending  = "pending"  // waiting for the provider
	ApplicationApproved = "approved" // the applicant may read the data (until ExpiresAt)
	ApplicationRefused  = "refused"  // refused with a reason; the user may apply again
	ApplicationRevoked  = "revoked"  // an approval taken back with a reason
)

// ApplicationStatuses labels the statuses.
var ApplicationStatuses = []Term{{ApplicationPending, "待审核", "pending"}, {ApplicationApproved, "已通过", "approved"},
	{ApplicationRefused, "未通过", "refused"}, {ApplicationRevoked, "已撤销", "revoked"}}

// Limits of the engagement texts, in characters.
const (
	MaxPurposeLen      = 1000
	MaxIntendedUseLen  = 1000
	MaxOrganizationLen = 200
	MaxReasonLen       = 1000
	MaxTitleLen        = 200
	MaxDescriptionLen  = 4000
	MaxReplyLen        = 2000
	MaxCommentLen      = 2000
	MaxURLLen          = 2000
	MaxShowcaseEntries = 20
)

// AccessApplication is a public user's application to read the data of a
// 有条件开放 entry. An approval lets that user's API keys read the entry's
// data (AccessGranted) until it expires or is revoked.
type AccessApplication struct {
	ID           int64  `json:"id"`
	EntryID      int64  `json:"entry_id"`
	UserID       int64  `json:"user_id"`
	Purpose      string `json:"purpose"`                // 申请用途, required
	IntendedUse  string `json:"intended_use,omitempty"` // how the data will be used (products, research …)
	Organization string `json:"organization,omitempty"` // the applicant's organisation, if any

	Status    string     `json:"status"`
	Reason    string     `json:"reason,omitempty"` // the decision's reason; required to refuse or revoke
	DecidedBy string     `json:"decided_by,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"` // an approval's end; none: until revoked
	CreatedAt time.Time  `json:"created_at"`

	// Read-only, filled in on reads.
	Expired       bool   `json:"expired"` // approved, but past ExpiresAt
	Applicant     string `json:"applicant"`
	ApplicantName string `json:"applicant_name,omitempty"`
	EntryName     string `json:"entry_name"`
	PackageName   string `json:"package_name"` // the entry on the portal and in the CKAN API
	ProviderID    int64  `json:"provider_id"`
	ProviderName  string `json:"provider_name"`
}

// Validate trims and checks what the applicant writes.
func (a *AccessApplication) Validate() error {
	a.Purpose, a.IntendedUse, a.Organization = strings.TrimSpace(a.Purpose), strings.TrimSpace(a.IntendedUse), strings.TrimSpace(a.Organization)
	f := FieldErrors{}
	if a.EntryID <= 0 {
		f.Add("entry_id", "required")
	}
	requireText(f, "purpose", a.Purpose, MaxPurposeLen)
	limitText(f, "intended_use", a.IntendedUse, MaxIntendedUseLen)
	limitText(f, "organization", a.Organization, MaxOrganizationLen)
	return f.Err("invalid application")
}

// Grants reports whether the application lets its applicant read the data at now.
func (a *AccessApplication) Grants(now time.Time) bool {
	return a.Status == ApplicationApproved && (a.ExpiresAt == nil || now.Before(*a.ExpiresAt))
}

// Open reports whether the application still stands in the way of a new
// one by the same user for the same entry: pending, or approved and not
// expired. After a refusal, a revocation or an expiry the user may apply again.
func (a *AccessApplication) Open(now time.Time) bool {
	return a.Status == ApplicationPending || a.Grants(now)
}

// Decisions on an application.
const (
	DecideApprove = "approve"
	DecideRefuse  = "refuse"
	DecideRevoke  = "revoke"
)

// ApplicationDecision is the provider's answer to an application.
type ApplicationDecision struct {
	Action    string     // DecideApprove, DecideRefuse or DecideRevoke
	Reason    string     // required to refuse or revoke
	ExpiresAt *time.Time // approvals only; must lie ahead of now
}

// NextStatus checks d against the application at now and returns the
// status it leads to.
func (a *AccessApplication) NextStatus(d *ApplicationDecision, now time.Time) (string, error) {
	d.Reason = strings.TrimSpace(d.Reason)
	f := FieldErrors{}
	var from, to string
	switch d.Action {
	case DecideApprove:
		from, to = ApplicationPending, ApplicationApproved
		if d.ExpiresAt != nil && !d.ExpiresAt.After(now) {
			f.Add("expires_at", "must lie in the future")
		}
		limitText(f, "reason", d.Reason, MaxReasonLen)
	case DecideRefuse, DecideRevoke:
		from, to = ApplicationPending, ApplicationRefused
		if d.Action == DecideRevoke {
			from, to = ApplicationApproved, ApplicationRevoked
		}
		if d.ExpiresAt != nil {
			f.Add("expires_at", "only an approval expires")
		}
		requireText(f, "reason", d.Reason, MaxReasonLen)
	default:
		f.Add("action", "approve, refuse or revoke")
	}
	if err := f.Err("invalid decision"); err != nil {
		return "", err
	}
	if a.Status != from {
		return "", Errorf(ECONFLICT, "cannot %s an application that is %s", d.Action, a.Status)
	}
	return to, nil
}

// AcceptsApplications reports whether the public may apply for the entry's
// data: it is published and open on conditions (有条件开放). 无条件开放 data
// needs no application; 不予开放 entries never appear.
func (e *CatalogEntry) AcceptsApplications() bool {
	return e.PublicMetadata() && e.OpenType == Conditional
}

// ApplicationFilter selects applications in a listing. The conditions add
// up: Scope limits by provider (Scope.All for every provider).
type ApplicationFilter struct {
	Scope   CatalogScope
	UserID  int64 // only this applicant's
	EntryID int64
	Status  string
	Limit   int
	Offset  int
}

// Statuses of a dataset request (数据需求).
const (
	RequestOpen      = "open"      // waiting for an answer
	RequestAnswered  = "answered"  // answered, nothing promised
	RequestPlanned   = "planned"   // the provider plans to open the data
	RequestFulfilled = "fulfilled" // open now: EntryID links the entry
	RequestDeclined  = "declined"  // will not be opened, with the reason
)

// RequestStatuses labels the statuses.
var RequestStatuses = []Term{{RequestOpen, "待答复", "open"}, {RequestAnswered, "已答复", "answered"},
	{RequestPlanned, "已列入开放计划", "planned"}, {RequestFulfilled, "已满足", "fulfilled"},
	{RequestDeclined, "暂不开放", "declined"}}

// DataRequest is a citizen's request for data that is not open yet
// (数据需求). Requests and their answers are public.
type DataRequest struct {
	ID          int64  `json:"id"`
	UserID      int64  `json:"-"`
	Title       string `json:"title"`
	Description string `json:"description"`
	ProviderID  *int64 `json:"provider_id,omitempty"` // the department asked, if the requester knows it
	Domain      string `json:"domain,omitempty"`      // open-data domain code

	Status     string     `json:"status"`
	Reply      string     `json:"reply,omitempty"`    // the answer; the reason of a decline
	EntryID    *int64     `json:"entry_id,omitempty"` // the entry that fulfils the request
	AnsweredBy string     `json:"answered_by,omitempty"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`

	// Read-only.
	Requester    string `json:"requester"` // display name, else user name
	ProviderName string `json:"provider_name,omitempty"`
	DomainName   string `json:"domain_name,omitempty"`
	EntryName    string `json:"entry_name,omitempty"`
	PackageName  string `json:"package_name,omitempty"`
}

// Validate trims and checks what the requester writes.
func (r *DataRequest) Validate() error {
	r.Title, r.Description, r.Domain = strings.TrimSpace(r.Title), strings.TrimSpace(r.Description), strings.TrimSpace(r.Domain)
	f := FieldErrors{}
	requireText(f, "title", r.Title, MaxTitleLen)
	requireText(f, "description", r.Description, MaxDescriptionLen)
	if r.ProviderID != nil && *r.ProviderID <= 0 {
		f.Add("provider_id", "a department id")
	}
	return f.Err("invalid data request")
}

// RequestAnswer is the answer of the platform or the provider to a request.
type RequestAnswer struct {
	Status  string // answered, planned, fulfilled or declined
	Reply   string // required, except for fulfilled
	EntryID *int64 // fulfilled only: the public entry that holds the data
}

// Check validates the answer for the request and trims it.
func (r *DataRequest) Check(a *RequestAnswer) error {
	a.Reply = strings.TrimSpace(a.Reply)
	f := FieldErrors{}
	switch a.Status {
	case RequestAnswered, RequestPlanned, RequestDeclined:
		requireText(f, "reply", a.Reply, MaxReplyLen)
		if a.EntryID != nil {
			f.Add("entry_id", "only a fulfilled request links an entry")
		}
	case RequestFulfilled:
		limitText(f, "reply", a.Reply, MaxReplyLen)
		if a.EntryID == nil || *a.EntryID <= 0 {
			f.Add("entry_id", "required: the entry that holds the data")
		}
	default:
		f.Add("status", "answered, planned, fulfilled or declined")
	}
	if err := f.Err("invalid answer"); err != nil {
		return err
	}
	if r.Status == RequestFulfilled {
		return Errorf(ECONFLICT, "the request is fulfilled already")
	}
	return nil
}

// DataRequestFilter selects requests in a listing.
type DataRequestFilter struct {
	Status     string
	ProviderID int64
	Domain     string
	UserID     int64 // only this requester's
	Query      string
	Limit      int
	Offset     int
}

// Comment is a public user's comment on a dataset, or a provider's reply
// to one (ParentID set, Official). Hidden comments leave public listings,
// their replies with them.
type Comment struct {
	ID       int64  `json:"id"`
	EntryID  int64  `json:"entry_id"`
	ParentID *int64 `json:"parent_id,omitempty"`
	UserID   int64  `json:"-"`
	Body     string `json:"body"`
	Official bool   `json:"official"` // a reply on behalf of the provider or the platform

	Hidden       bool       `json:"hidden,omitempty"`
	HiddenReason string     `json:"hidden_reason,omitempty"`
	HiddenBy     string     `json:"hidden_by,omitempty"`
	HiddenAt     *time.Time `json:"hidden_at,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`

	// Read-only.
	Author  string     `json:"author"`          // display name, else user name
	Stars   int        `json:"stars,omitempty"` // the author's rating of the dataset, if any
	Replies []*Comment `json:"replies,omitempty"`
}

// Validate trims and checks a new comment.
func (c *Comment) Validate() error {
	c.Body = strings.TrimSpace(c.Body)
	f := FieldErrors{}
	if c.EntryID <= 0 {
		f.Add("entry_id", "required")
	}
	requireText(f, "body", c.Body, MaxCommentLen)
	if c.ParentID != nil && *c.ParentID <= 0 {
		f.Add("parent_id", "a comment id")
	}
	return f.Err("invalid comment")
}

// CommentFilter selects the comments of a dataset: top-level comments,
// newest first, each with its replies, oldest first.
type CommentFilter struct {
	EntryID       int64
	IncludeHidden bool // moderators see hidden comments, marked
	Limit         int
	Offset        int
}

// RatingSummary is a dataset's ratings: how many, their average, and how
// many gave each number of stars (Stars[0] counts one star).
type RatingSummary struct {
	EntryID int64   `json:"entry_id"`
	Count   int     `json:"count"`
	Average float64 `json:"average"` // 0 without ratings; two decimals
	Stars   [5]int  `json:"stars"`
}

// ValidateStars checks a rating.
func ValidateStars(stars int) error {
	if stars < 1 || stars > 5 {
		return &Error{Code: EINVALID, Message: "invalid rating", Fields: map[string]string{"stars": "1 to 5"}}
	}
	return nil
}

// Statuses of a showcase item.
const (
	ShowcasePending  = "pending"
	ShowcaseApproved = "approved" // shown on the portal
	ShowcaseRejected = "rejected" // not shown, with the reason
)

// ShowcaseStatuses labels the statuses.
var ShowcaseStatuses = []Term{{ShowcasePending, "待审核", "pending"}, {ShowcaseApproved, "已展示", "approved"},
	{ShowcaseRejected, "未通过", "rejected"}}

// ShowcaseItem is an application built on open data (成果展示): shown on
// the portal once a platform administrator approves it.
type ShowcaseItem struct {
	ID          int64   `json:"id"`
	Title       string  `json:"title"`
	Description string  `json:"description"`
	URL         string  `json:"url"` // http or https
	EntryIDs    []int64 `json:"entry_ids"`

	Status    string     `json:"status"`
	Reason    string     `json:"reason,omitempty"` // why rejected
	DecidedBy string     `json:"decided_by,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`

	// Read-only.
	SubmitterID int64             `json:"-"`
	Submitter   string            `json:"submitter"` // display name, else user name
	Datasets    []ShowcaseDataset `json:"datasets"`  // the EntryIDs still public
}

// ShowcaseDataset is a dataset a showcase item uses, as the portal links it.
type ShowcaseDataset struct {
	EntryID      int64  `json:"entry_id"`
	Name         string `json:"name"`
	PackageName  string `json:"package_name"`
	ProviderName string `json:"provider_name"`
}

// Validate trims and checks a new showcase item.
func (s *ShowcaseItem) Validate() error {
	s.Title, s.Description, s.URL = strings.TrimSpace(s.Title), strings.TrimSpace(s.Description), strings.TrimSpace(s.URL)
	f := FieldErrors{}
	requireText(f, "title", s.Title, MaxTitleLen)
	requireText(f, "description", s.Description, MaxDescriptionLen)
	if !webURL(s.URL) {
		f.Add("url", fmt.Sprintf("an http or https URL of at most %d characters", MaxURLLen))
	}
	ids := slices.Clone(s.EntryIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	switch {
	case len(ids) == 0:
		f.Add("entry_ids", "at least one dataset")
	case len(ids) > MaxShowcaseEntries:
		f.Add("entry_ids", fmt.Sprintf("at most %d datasets", MaxShowcaseEntries))
	case ids[0] <= 0:
		f.Add("entry_ids", "dataset ids are positive")
	}
	s.EntryIDs = ids
	return f.Err("invalid showcase item")
}

// NextStatus checks a platform administrator's decision on the item and
// returns the status it leads to: approve a pending or rejected item,
// reject (with a reason) a pending or approved one.
func (s *ShowcaseItem) NextStatus(approve bool, reason string) (string, error) {
	f := FieldErrors{}
	to, from := ShowcaseApproved, []string{ShowcasePending, ShowcaseRejected}
	if approve {
		limitText(f, "reason", reason, MaxReasonLen)
	} else {
		to, from = ShowcaseRejected, []string{ShowcasePending, ShowcaseApproved}
		requireText(f, "reason", reason, MaxReasonLen)
	}
	if err := f.Err("invalid decision"); err != nil {
		return "", err
	}
	if !slices.Contains(from, s.Status) {
		return "", Errorf(ECONFLICT, "the item is %s already", s.Status)
	}
	return to, nil
}

// webURL accepts absolute http and https URLs with a host and nothing that
// would run in a page (no javascript:, data: …).
func webURL(s string) bool {
	if s == "" || len(s) > MaxURLLen || strings.ContainsAny(s, " \t\r\n\"<>\\") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

// ShowcaseFilter selects showcase items.
type ShowcaseFilter struct {
	Status      string // empty: every status
	SubmitterID int64
	EntryID     int64 // only items using this dataset
	Limit       int
	Offset      int
}

// Who may do what.

// CanApplyForData: public accounts apply for 有条件开放 data. Staff reach
// data through sharing (共享), not through the portal.
func (u *User) CanApplyForData() bool { return u.HasRole(RolePublic) && !u.Disabled }

// CanDecideApplication: the provider's data stewards, and platform
// administrators, decide applications for an entry of providerID.
func (u *User) CanDecideApplication(providerID int64) bool {
	return u != nil && !u.Disabled && u.CanEditCatalog(providerID)
}

// DecisionScope is the providers whose applications u may decide.
func DecisionScope(u *User) CatalogScope {
	switch {
	case u == nil || u.Disabled:
		return CatalogScope{}
	case u.HasRole(RolePlatformAdmin):
		return CatalogScope{All: true}
	case u.HasRole(RoleSteward) && u.DepartmentID != nil:
		return CatalogScope{Departments: []int64{*u.DepartmentID}}
	}
	return CatalogScope{}
}

// InScope reports whether the scope covers a provider.
func (s CatalogScope) InScope(providerID int64) bool {
	return s.All || slices.Contains(s.Departments, providerID)
}

// CanRequestData: public accounts file dataset requests.
func (u *User) CanRequestData() bool { return u.HasRole(RolePublic) && !u.Disabled }

// CanAnswerRequest: platform administrators answer every request; the
// stewards of the department a request names answer it too.
func (u *User) CanAnswerRequest(r *DataRequest) bool {
	if u == nil || u.Disabled {
		return false
	}
	return u.HasRole(RolePlatformAdmin) || r.ProviderID != nil && u.HasRole(RoleSteward) && u.inDepartment(r.ProviderID)
}

// CanRateAndComment: public accounts rate datasets and comment on them.
func (u *User) CanRateAndComment() bool { return u.HasRole(RolePublic) && !u.Disabled }

// CanReplyToComments: the provider's stewards (and platform administrators)
// reply to comments on an entry of providerID.
func (u *User) CanReplyToComments(providerID int64) bool {
	return u != nil && !u.Disabled && u.CanEditCatalog(providerID)
}

// CanModerate: platform administrators hide abusive comments and approve
// showcase items.
func (u *User) CanModerate() bool { return u.HasRole(RolePlatformAdmin) && !u.Disabled }

// CanSubmitShowcase: public accounts and platform administrators submit
// showcase items. An administrator's item is approved as it is submitted.
func (u *User) CanSubmitShowcase() bool {
	return (u.HasRole(RolePublic) || u.HasRole(RolePlatformAdmin)) && !u.Disabled
}

func requireText(f FieldErrors, field, value string, max int) {
	if value == "" {
		f.Add(field, "required")
	}
	limitText(f, field, value, max)
}

func limitText(f FieldErrors, field, value string, max int) {
	if utf8.RuneCountInString(value) > max {
		f.Add(field, fmt.Sprintf("at most %d characters", max))
	}
}

// AccessGrants answers the open-data API's question for 有条件开放 data:
// may this user read this entry's data? Callers check PublicData first and
// may cache the answer briefly.
type AccessGrants interface {
	// AccessGranted is true while an approved application of the user
	// for the entry stands: not expired, not revoked, the user not
	// disabled, and the entry still published and open on conditions.
	AccessGranted(ctx context.Context, userID, entryID int64) (bool, error)
}

// AccessApplicationService keeps applications for 有条件开放 data. Every
// change is audited; the acting user comes from the context.
type AccessApplicationService interface {
	AccessGrants
	// CreateAccessApplication files an application of the acting public
	// user (UserID is set from the actor). The entry must accept
	// applications (ENOTFOUND when it is not public, ECONFLICT when it is
	// open unconditionally); a user holds one open application per entry
	// (ECONFLICT).
	CreateAccessApplication(ctx context.Context, a *AccessApplication) error
	// DecideAccessApplication approves, refuses or revokes as the acting
	// user, who must be a steward of the entry's provider or a platform
	// administrator (EFORBIDDEN).
	DecideAccessApplication(ctx context.Context, id int64, d ApplicationDecision) (*AccessApplication, error)
	AccessApplication(ctx context.Context, id int64) (*AccessApplication, error)
	// AccessApplications lists newest first, with the total matching.
	AccessApplications(ctx context.Context, f ApplicationFilter) ([]*AccessApplication, int, error)
}

// DataRequestService keeps dataset requests (数据需求).
type DataRequestService interface {
	// CreateDataRequest files a request of the acting public user.
	CreateDataRequest(ctx context.Context, r *DataRequest) error
	// AnswerDataRequest answers as the acting user (CanAnswerRequest);
	// a fulfilled request links a public entry.
	AnswerDataRequest(ctx context.Context, id int64, a RequestAnswer) (*DataRequest, error)
	DataRequest(ctx context.Context, id int64) (*DataRequest, error)
	// DataRequests lists newest first, with the total matching.
	DataRequests(ctx context.Context, f DataRequestFilter) ([]*DataRequest, int, error)
}

// FeedbackService keeps ratings and comments on public datasets.
type FeedbackService interface {
	// RateEntry sets the acting public user's rating of a public entry
	// (one per user and entry; a new rating replaces theirs).
	RateEntry(ctx context.Context, entryID int64, stars int) (*RatingSummary, error)
	// UserRating is a user's stars for an entry, 0 if none.
	UserRating(ctx context.Context, entryID, userID int64) (int, error)
	// RatingSummaries returns the summary of each entry asked for, zero
	// summaries included.
	RatingSummaries(ctx context.Context, entryIDs []int64) (map[int64]*RatingSummary, error)
	// CreateComment posts as the acting user: public users comment on a
	// public entry, its provider's stewards (and platform administrators)
	// reply to a visible top-level comment (ParentID).
	CreateComment(ctx context.Context, c *Comment) error
	// HideComment hides a comment (and its replies) from public listings;
	// platform administrators only, with a reason.
	HideComment(ctx context.Context, id int64, reason string) (*Comment, error)
	Comment(ctx context.Context, id int64) (*Comment, error)
	// Comments lists a dataset's top-level comments with their replies,
	// with the total of top-level comments.
	Comments(ctx context.Context, f CommentFilter) ([]*Comment, int, error)
}

// ShowcaseService keeps the showcase (成果展示).
type ShowcaseService interface {
	// CreateShowcaseItem submits as the acting user (CanSubmitShowcase);
	// every dataset must be public.
	CreateShowcaseItem(ctx context.Context, it *ShowcaseItem) error
	// DecideShowcaseItem approves or rejects (with a reason); platform
	// administrators only. An approved item may be rejected later.
	DecideShowcaseItem(ctx context.Context, id int64, approve bool, reason string) (*ShowcaseItem, error)
	ShowcaseItem(ctx context.Context, id int64) (*ShowcaseItem, error)
	ShowcaseItems(ctx context.Context, f ShowcaseFilter) ([]*ShowcaseItem, int, error)
}

// EngagementService is the public side of the open-data portal.
type EngagementService interface {
	AccessApplicationService
	DataRequestService
	FeedbackService
	ShowcaseService
}
