package cityhub

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// RoleReviewer reviews catalog entries before they are published
// (the platform's 目录审核员, usually at the big-data bureau).
const RoleReviewer = "catalog_reviewer"

func init() { Roles = append(Roles, RoleReviewer) }

// Resource formats (信息资源格式) of the guideline.
const (
	FormatFile     = "file"     // 电子文件
	FormatSheet    = "sheet"    // 电子表格
	FormatDatabase = "database" // 数据库
	FormatImage    = "image"    // 图形图像
	FormatStream   = "stream"   // 流媒体
	FormatSelfDesc = "selfdesc" // 自描述格式
)

// Sharing types (共享类型) and open types (开放类型) share their values.
const (
	Unconditional = "unconditional" // 无条件共享 / 无条件开放
	Conditional   = "conditional"   // 有条件共享 / 有条件开放
	NotShared     = "none"          // 不予共享 / 不予开放
)

// Update cycles (更新周期).
const (
	CycleRealtime  = "realtime"
	CycleDaily     = "daily"
	CycleWeekly    = "weekly"
	CycleMonthly   = "monthly"
	CycleQuarterly = "quarterly"
	CycleYearly    = "yearly"
	CycleIrregular = "irregular"
)

// Entry statuses along the lifecycle.
const (
	StatusDraft     = "draft"
	StatusSubmitted = "submitted"
	StatusApproved  = "approved"
	StatusRejected  = "rejected"
	StatusPublished = "published"
	StatusWithdrawn = "withdrawn"
)

// Sensitivity levels of data items.
const (
	SensPublic    = "public"
	SensInternal  = "internal"
	SensSensitive = "sensitive"
	SensSecret    = "secret"
)

// Vocabularies, in display order, with the guideline's Chinese labels. The
// labels are also what spreadsheets in the guideline's layout carry.
var (
	Formats = []Term{{FormatFile, "电子文件", "electronic file"}, {FormatSheet, "电子表格", "spreadsheet"},
		{FormatDatabase, "数据库", "database"}, {FormatImage, "图形图像", "graphics and images"},
		{FormatStream, "流媒体", "streaming media"}, {FormatSelfDesc, "自描述格式", "self-describing format"}}
	ShareTypes = []Term{{Unconditional, "无条件共享", "shared unconditionally"},
		{Conditional, "有条件共享", "shared on conditions"}, {NotShared, "不予共享", "not shared"}}
	OpenTypes = []Term{{Unconditional, "无条件开放", "open unconditionally"},
		{Conditional, "有条件开放", "open on conditions"}, {NotShared, "不予开放", "not open"}}
	UpdateCycles = []Term{{CycleRealtime, "实时", "real time"}, {CycleDaily, "每日", "daily"},
		{CycleWeekly, "每周", "weekly"}, {CycleMonthly, "每月", "monthly"}, {CycleQuarterly, "每季度", "quarterly"},
		{CycleYearly, "每年", "yearly"}, {CycleIrregular, "不定期", "irregular"}}
	Statuses = []Term{{StatusDraft, "草稿", "draft"}, {StatusSubmitted, "待审核", "submitted"},
		{StatusApproved, "已审核", "approved"}, {StatusRejected, "已退回", "rejected"},
		{StatusPublished, "已发布", "published"}, {StatusWithdrawn, "已撤回", "withdrawn"}}
	Sensitivities = []Term{{SensPublic, "公开", "public"}, {SensInternal, "内部", "internal"},
		{SensSensitive, "敏感", "sensitive"}, {SensSecret, "涉密", "secret"}}
	// ItemTypes are the guideline's data item type codes.
	ItemTypes = []Term{{"C", "字符型", "character"}, {"N", "数值型", "numeric"}, {"Y", "货币型", "currency"},
		{"D", "日期型", "date"}, {"T", "日期时间型", "date-time"}, {"L", "逻辑型", "logical"},
		{"M", "备注型", "memo"}, {"G", "通用型", "general"}, {"B", "二进制", "binary"},
		{"I", "图像", "image"}, {"F", "文件", "file"}}
)

// Term is a value of a controlled vocabulary with its labels.
type Term struct {
	Code string `json:"code"`
	ZH   string `json:"zh"`
	EN   string `json:"en"`
}

// TermByLabel finds a term by code or by either label (spreadsheets use the
// Chinese label, the API the code).
func TermByLabel(terms []Term, s string) (Term, bool) {
	s = strings.TrimSpace(s)
	for _, t := range terms {
		if s == t.Code || s == t.ZH || strings.EqualFold(s, t.EN) {
			return t, true
		}
	}
	return Term{}, false
}

func termCodes(terms []Term) string {
	codes := make([]string, len(terms))
	for i, t := range terms {
		codes[i] = t.Code
	}
	return strings.Join(codes, ", ")
}

func isTerm(terms []Term, code string) bool {
	return slices.ContainsFunc(terms, func(t Term) bool { return t.Code == code })
}

// DataItem (信息项) is one field of a resource.
type DataItem struct {
	Name        string `json:"name"`             // 信息项名称, usually Chinese
	Code        string `json:"code,omitempty"`   // English field name, for APIs and column mapping
	Type        string `json:"type"`             // C N Y D T L M G B I F
	Length      int    `json:"length,omitempty"` // maximum length; 0 when the type has none
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required"`
	PrimaryKey  bool   `json:"primary_key"`
	Sensitivity string `json:"sensitivity"`
	// Validator names a check beyond the type (see Validators); empty:
	// inferred from the item's name.
	Validator string `json:"validator,omitempty"`
}

// validatorHints infers a validator from common item names.
var validatorHints = []struct {
	words     []string
	validator string
}{
	{[]string{"身份号码", "身份证号", "身份证件号", "citizen_id", "id_card"}, "citizen_id"},
	{[]string{"统一社会信用代码", "信用代码", "credit_code"}, "credit_code"},
	// The shipped division table is partial: check the form and province.
	{[]string{"行政区划代码", "区划代码", "division_code"}, "division_format"},
	{[]string{"手机号", "手机", "mobile"}, "mobile"},
	{[]string{"联系电话", "电话号码", "phone", "telephone"}, "phone"},
}

// ValidatorName is the check the item's values get beyond their type.
func (it DataItem) ValidatorName() string {
	if it.Validator != "" {
		return it.Validator
	}
	name, code := it.Name, strings.ToLower(it.Code)
	for _, h := range validatorHints {
		for _, w := range h.words {
			if strings.Contains(name, w) || code != "" && strings.Contains(code, w) {
				return h.validator
			}
		}
	}
	return ""
}

// CatalogEntry is one entry of the government information resource catalog,
// with every element of the guideline's core metadata.
type CatalogEntry struct {
	ID                 int64      `json:"id"`
	Code               string     `json:"code"` // 信息资源代码: 分类码/顺序码
	ClassificationCode string     `json:"classification_code"`
	Name               string     `json:"name"`
	ProviderID         int64      `json:"provider_id"`
	ProviderName       string     `json:"provider_name"` // read-only
	ProviderCode       string     `json:"provider_code"` // the provider's credit code when saved
	Abstract           string     `json:"abstract"`
	Format             string     `json:"format"`
	Items              []DataItem `json:"items"`
	ShareType          string     `json:"share_type"`
	ShareCondition     string     `json:"share_condition,omitempty"`
	ShareMethod        string     `json:"share_method,omitempty"`
	ShareBasis         string     `json:"share_basis,omitempty"` // legal or policy basis for 有条件/不予
	OpenType           string     `json:"open_type"`
	OpenCondition      string     `json:"open_condition,omitempty"`
	OpenBasis          string     `json:"open_basis,omitempty"`
	UpdateCycle        string     `json:"update_cycle"`
	PublishDate        string     `json:"publish_date,omitempty"` // CCYY-MM-DD
	RelatedCodes       []string   `json:"related_codes"`
	Tags               []string   `json:"tags"`
	Domain             string     `json:"domain,omitempty"` // open-data domain code

	Status        string     `json:"status"`
	StatusReason  string     `json:"status_reason,omitempty"` // why rejected or withdrawn
	Version       int        `json:"version"`
	EverPublished bool       `json:"ever_published"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	DataUpdatedAt *time.Time `json:"data_updated_at,omitempty"` // last time the data behind it changed
}

var (
	datePattern     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	codePattern     = regexp.MustCompile(`^\d{1,20}/\d{1,10}$`)
	itemCodePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)
)

// Normalize trims text fields and removes empty and repeated tags.
func (e *CatalogEntry) Normalize() {
	for _, p := range []*string{&e.Name, &e.Abstract, &e.ShareCondition, &e.ShareMethod, &e.ShareBasis,
		&e.OpenCondition, &e.OpenBasis, &e.PublishDate, &e.Domain, &e.ClassificationCode} {
		*p = strings.TrimSpace(*p)
	}
	var tags []string
	for _, t := range e.Tags {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	e.Tags = tags
	var codes []string
	for _, c := range e.RelatedCodes {
		if c = strings.TrimSpace(c); c != "" && !slices.Contains(codes, c) {
			codes = append(codes, c)
		}
	}
	e.RelatedCodes = codes
	for i := range e.Items {
		it := &e.Items[i]
		it.Name, it.Code, it.Description = strings.TrimSpace(it.Name), strings.TrimSpace(it.Code), strings.TrimSpace(it.Description)
		it.Type = strings.ToUpper(strings.TrimSpace(it.Type))
		if it.Sensitivity == "" {
			it.Sensitivity = SensInternal
		}
		if it.PrimaryKey {
			it.Required = true
		}
	}
}

// Validate checks the entry's fields and the sharing rules of the guideline
// and of 国发〔2016〕51号. isBase tells whether the classification lies in
// 基础信息资源, whose data is shared unconditionally.
func (e *CatalogEntry) Validate(isBase bool) error {
	e.Normalize()
	f := FieldErrors{}
	need := func(field, value string, max int) {
		switch n := utf8.RuneCountInString(value); {
		case n == 0:
			f.Add(field, "required")
		case n > max:
			f.Add(field, fmt.Sprintf("at most %d characters", max))
		}
	}
	need("name", e.Name, 200)
	need("abstract", e.Abstract, 4000)
	if e.ClassificationCode == "" {
		f.Add("classification_code", "required")
	}
	if e.ProviderID <= 0 {
		f.Add("provider_id", "required")
	}
	if !isTerm(Formats, e.Format) {
		f.Add("format", "one of "+termCodes(Formats))
	}
	if !isTerm(UpdateCycles, e.UpdateCycle) {
		f.Add("update_cycle", "one of "+termCodes(UpdateCycles))
	}
	if e.PublishDate != "" {
		if _, err := time.Parse("2006-01-02", e.PublishDate); err != nil || !datePattern.MatchString(e.PublishDate) {
			f.Add("publish_date", "a date as CCYY-MM-DD")
		}
	}
	for _, c := range e.RelatedCodes {
		if !codePattern.MatchString(c) {
			f.Add("related_codes", fmt.Sprintf("%q is not a resource code (分类码/顺序码)", c))
		} else if c == e.Code {
			f.Add("related_codes", "an entry cannot relate to itself")
		}
	}
	if len(e.Tags) > 20 {
		f.Add("tags", "at most 20 tags")
	}
	for _, t := range e.Tags {
		if utf8.RuneCountInString(t) > 30 {
			f.Add("tags", fmt.Sprintf("tag %q is longer than 30 characters", t))
		}
	}

	// Sharing and opening (共享属性, 开放属性).
	switch {
	case !isTerm(ShareTypes, e.ShareType):
		f.Add("share_type", "one of "+termCodes(ShareTypes))
	case isBase && e.ShareType != Unconditional:
		f.Add("share_type", "基础信息资源 are shared unconditionally (国发〔2016〕51号)")
	case e.ShareType != Unconditional && e.ShareBasis == "":
		f.Add("share_basis", "有条件共享 and 不予共享 need a stated legal or policy basis")
	}
	if e.ShareType == Conditional && e.ShareCondition == "" {
		f.Add("share_condition", "有条件共享 needs its conditions")
	}
	if e.ShareType != NotShared && e.ShareMethod == "" {
		f.Add("share_method", "required when the entry is shared")
	}
	switch {
	case !isTerm(OpenTypes, e.OpenType):
		f.Add("open_type", "one of "+termCodes(OpenTypes))
	case e.ShareType == NotShared && e.OpenType != NotShared:
		f.Add("open_type", "an entry that may not be shared may not be opened")
	case e.OpenType != Unconditional && e.OpenBasis == "":
		f.Add("open_basis", "有条件开放 and 不予开放 need a stated basis")
	}
	if e.OpenType == Conditional && e.OpenCondition == "" {
		f.Add("open_condition", "有条件开放 needs its conditions")
	}
	if e.OpenType != NotShared && e.Domain == "" {
		f.Add("domain", "an entry that may be opened needs an open-data domain")
	}

	// Data items (信息项).
	if len(e.Items) == 0 {
		f.Add("items", "at least one data item")
	}
	if len(e.Items) > 500 {
		f.Add("items", "at most 500 data items")
	}
	names, codes := map[string]bool{}, map[string]bool{}
	for i, it := range e.Items {
		at := fmt.Sprintf("items[%d].", i)
		if it.Name == "" {
			f.Add(at+"name", "required")
		} else if names[it.Name] {
			f.Add(at+"name", fmt.Sprintf("%q appears twice", it.Name))
		} else if utf8.RuneCountInString(it.Name) > 100 {
			f.Add(at+"name", "at most 100 characters")
		}
		names[it.Name] = true
		if it.Code != "" {
			if !itemCodePattern.MatchString(it.Code) {
				f.Add(at+"code", "letters, digits and _, starting with a letter")
			} else if codes[strings.ToLower(it.Code)] {
				f.Add(at+"code", fmt.Sprintf("%q appears twice", it.Code))
			}
			codes[strings.ToLower(it.Code)] = true
		}
		if !isTerm(ItemTypes, it.Type) {
			f.Add(at+"type", "one of "+termCodes(ItemTypes))
		}
		if it.Length < 0 || it.Length > 1_000_000 {
			f.Add(at+"length", "0 to 1000000")
		}
		if !isTerm(Sensitivities, it.Sensitivity) {
			f.Add(at+"sensitivity", "one of "+termCodes(Sensitivities))
		}
		if _, ok := Validators[it.Validator]; it.Validator != "" && !ok {
			f.Add(at+"validator", "one of citizen_id, credit_code, division, division_format, mobile, phone")
		}
		if utf8.RuneCountInString(it.Description) > 1000 {
			f.Add(at+"description", "at most 1000 characters")
		}
	}
	return f.Err("invalid catalog entry")
}

// Openable reports whether the entry may be opened to the public at all.
func (e *CatalogEntry) Openable() bool { return e.OpenType != NotShared }

// Transition is a lifecycle action.
type Transition string

const (
	ActSubmit   Transition = "submit"
	ActApprove  Transition = "approve"
	ActReject   Transition = "reject"
	ActPublish  Transition = "publish"
	ActWithdraw Transition = "withdraw"
)

// lifecycle: for each action, the statuses it starts from and where it goes.
var lifecycle = map[Transition]struct {
	from []string
	to   string
}{
	ActSubmit:   {[]string{StatusDraft, StatusRejected, StatusWithdrawn}, StatusSubmitted},
	ActApprove:  {[]string{StatusSubmitted}, StatusApproved},
	ActReject:   {[]string{StatusSubmitted, StatusApproved}, StatusRejected},
	ActPublish:  {[]string{StatusApproved}, StatusPublished},
	ActWithdraw: {[]string{StatusPublished}, StatusWithdrawn},
}

// NextStatus returns the status action leads to from the entry's status,
// or an error saying why it cannot be taken.
func (e *CatalogEntry) NextStatus(action Transition, reason string) (string, error) {
	step, ok := lifecycle[action]
	if !ok {
		return "", &Error{Code: EINVALID, Message: "unknown action", Fields: map[string]string{"action": "submit, approve, reject, publish or withdraw"}}
	}
	if !slices.Contains(step.from, e.Status) {
		return "", Errorf(ECONFLICT, "cannot %s an entry that is %s", action, e.Status)
	}
	if (action == ActReject || action == ActWithdraw) && strings.TrimSpace(reason) == "" {
		return "", &Error{Code: EINVALID, Message: "a reason is required", Fields: map[string]string{"reason": "say why"}}
	}
	return step.to, nil
}

// Editable reports whether the entry's content may change in its status:
// not while it waits for or has passed review (that would change what the
// reviewer approved).
func (e *CatalogEntry) Editable() bool {
	return e.Status != StatusSubmitted && e.Status != StatusApproved
}

// CanEditCatalog: stewards edit their own department's entries; platform
// administrators any.
func (u *User) CanEditCatalog(providerID int64) bool {
	if u.HasRole(RolePlatformAdmin) {
		return true
	}
	return u.HasRole(RoleSteward) && u.DepartmentID != nil && *u.DepartmentID == providerID
}

// CanReviewCatalog: reviewers approve, reject and publish.
func (u *User) CanReviewCatalog() bool {
	return u.HasRole(RoleReviewer) || u.HasRole(RolePlatformAdmin)
}

// CanTransition reports whether u may take action on an entry of provider.
// Stewards submit and withdraw their own; reviewers do the rest, and may
// withdraw any.
func (u *User) CanTransition(action Transition, providerID int64) bool {
	switch action {
	case ActSubmit:
		return u.CanEditCatalog(providerID)
	case ActWithdraw:
		return u.CanEditCatalog(providerID) || u.CanReviewCatalog()
	default:
		return u.CanReviewCatalog()
	}
}

// CanSeeEntry: published entries are visible to every signed-in user;
// unpublished ones to their department, reviewers and administrators.
func (u *User) CanSeeEntry(e *CatalogEntry) bool {
	if e.Status == StatusPublished {
		return u != nil
	}
	return u.CanEditCatalog(e.ProviderID) || u.CanReviewCatalog() || u.HasRole(RoleAuditor) ||
		(u != nil && u.DepartmentID != nil && *u.DepartmentID == e.ProviderID)
}

// CatalogVersion is one saved state of an entry.
type CatalogVersion struct {
	EntryID int64         `json:"entry_id"`
	Version int           `json:"version"`
	Action  string        `json:"action"` // create, update, submit, approve, reject, publish, withdraw
	Actor   string        `json:"actor"`
	At      time.Time     `json:"at"`
	Note    string        `json:"note,omitempty"`
	Entry   *CatalogEntry `json:"entry"`
}

// Change is one difference between two versions.
type Change struct {
	Field  string `json:"field"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Diff lists what differs from a to b, field by field; data items are
// compared by name.
func Diff(a, b *CatalogEntry) []Change {
	var out []Change
	add := func(field, x, y string) {
		if x != y {
			out = append(out, Change{field, x, y})
		}
	}
	add("code", a.Code, b.Code)
	add("classification_code", a.ClassificationCode, b.ClassificationCode)
	add("name", a.Name, b.Name)
	add("provider_id", fmt.Sprint(a.ProviderID), fmt.Sprint(b.ProviderID))
	add("abstract", a.Abstract, b.Abstract)
	add("format", a.Format, b.Format)
	add("share_type", a.ShareType, b.ShareType)
	add("share_condition", a.ShareCondition, b.ShareCondition)
	add("share_method", a.ShareMethod, b.ShareMethod)
	add("share_basis", a.ShareBasis, b.ShareBasis)
	add("open_type", a.OpenType, b.OpenType)
	add("open_condition", a.OpenCondition, b.OpenCondition)
	add("open_basis", a.OpenBasis, b.OpenBasis)
	add("update_cycle", a.UpdateCycle, b.UpdateCycle)
	add("publish_date", a.PublishDate, b.PublishDate)
	add("related_codes", strings.Join(a.RelatedCodes, ", "), strings.Join(b.RelatedCodes, ", "))
	add("tags", strings.Join(a.Tags, ", "), strings.Join(b.Tags, ", "))
	add("domain", a.Domain, b.Domain)
	add("status", a.Status, b.Status)
	before := map[string]DataItem{}
	for _, it := range a.Items {
		before[it.Name] = it
	}
	after := map[string]bool{}
	for _, it := range b.Items {
		after[it.Name] = true
		old, ok := before[it.Name]
		switch {
		case !ok:
			add("items["+it.Name+"]", "", describeItem(it))
		case old != it:
			add("items["+it.Name+"]", describeItem(old), describeItem(it))
		}
	}
	for _, it := range a.Items {
		if !after[it.Name] {
			add("items["+it.Name+"]", describeItem(it), "")
		}
	}
	return out
}

func describeItem(it DataItem) string {
	s := fmt.Sprintf("%s %s(%d) %s", it.Name, it.Type, it.Length, it.Sensitivity)
	if it.Code != "" {
		s += " code=" + it.Code
	}
	if it.PrimaryKey {
		s += " primary-key"
	} else if it.Required {
		s += " required"
	}
	if it.Description != "" {
		s += " — " + it.Description
	}
	return s
}
