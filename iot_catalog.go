package cityhub

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Every device type is also a catalog entry (流媒体, 实时): its readings are
// data like any other, described, classified, shared and opened by the same
// rules and reviewed by the same people.
//
// The entry is tied to its type by the tag "iot:" + the type's name
// (DeviceTypeTag): the catalog has no field for an external identifier, its
// resource code is assigned by the store, and tags are indexed and
// searchable by exact value. The device type owns the entry's data items;
// everything else (name, abstract, classification, sharing and opening)
// belongs to the stewards and reviewers once the entry exists.

// DeviceTypeTagPrefix starts the tag that links a catalog entry to its
// device type.
const DeviceTypeTagPrefix = "iot:"

// DeviceTypeTag is the tag of the catalog entry of the device type called
// name.
func DeviceTypeTag(name string) string { return DeviceTypeTagPrefix + name }

// Standard data items of every device stream, before the type's properties.
const (
	StreamDeviceItem = "device" // the device's name, unique in the platform
	StreamTimeItem   = "time"   // observation time
)

// streamPolicy is how a category of device types is classified, shared and
// opened, with the conditions and bases the guideline asks for.
type streamPolicy struct {
	class  string // 信息资源分类: seeded 主题 classifications only
	domain string // open-data domain; empty when not opened
	sharing
}

type sharing struct {
	share, shareCondition, shareBasis string
	open, openCondition, openBasis    string
	sens                              string // sensitivity of the data items
}

// streamShareMethod is how the demo catalog shares streams: subscription
// through the exchange's API.
const streamShareMethod = "接口订阅"

var (
	// openStream: ordinary sensor readings carry no personal data, so they
	// are shared unconditionally (国发〔2016〕51号: sharing is the rule, and
	// 有条件 needs a legal basis these readings do not have) and opened on
	// conditions: raw real-time streams, through the open platform's API
	// after registration.
	openStream = sharing{share: Unconditional, open: Conditional, sens: SensPublic,
		openCondition: "在开放平台注册并申请接口权限，经同意后通过接口订阅获取实时数据；" +
			"使用时注明数据来源，不得用于危害公共安全的用途。",
		openBasis: "物联网实时感知数据为未经人工审核的原始观测值，时效性强、需持续获取，对数据安全和平台处理能力要求较高，" +
			"依《中华人民共和国数据安全法》第四十二条经安全可控的开放平台以接口方式有条件开放。"}
	// lifeline: utility-tunnel readings describe the safety of the city's
	// lifeline infrastructure: shared on conditions, never opened.
	lifeline = sharing{share: Conditional, open: NotShared, sens: SensInternal,
		shareCondition: "仅限综合管廊运营维护、住房城乡建设、应急管理和城市运行监测等履行法定职责的部门申请使用，" +
			"按申请事项使用，不得转授他人或对外提供。",
		shareBasis: "城市地下综合管廊属城市生命线基础设施，其运行监测数据涉及设施安全，依《中华人民共和国数据安全法》第二十一条实行分类分级保护；" +
			"按《政务信息资源共享管理暂行办法》（国发〔2016〕51号）第九条列为有条件共享。",
		openBasis: "涉及城市生命线基础设施安全，不予开放（《中华人民共和国数据安全法》第二十一条）。"}
)

// streamPolicies by DeviceType.Category.
var streamPolicies = map[string]streamPolicy{
	"air":      {"211", "environment", openStream}, // 生态环保 / 环境监测
	"water":    {"211", "environment", openStream},
	"noise":    {"211", "environment", openStream},
	"weather":  {"211", "weather", openStream}, // 生态环保 / 气象服务
	"traffic":  {"209", "traffic", openStream}, // 城乡建设 / 交通状况
	"parking":  {"209", "traffic", openStream},
	"lighting": {"209", "urban", openStream}, // 城乡建设 / 城市建设
	"tunnel":   {"209", "", lifeline},        // 城乡建设, not opened
}

// defaultStreamPolicy covers a category added without a policy: city
// infrastructure, shared unconditionally, opened on conditions.
var defaultStreamPolicy = streamPolicy{"209", "urban", openStream}

// streamTexts are the names, abstracts and tags of the known types' entries.
var streamTexts = map[string]struct {
	name, abstract string
	tags           []string
}{
	"AirQualityObserved": {"空气质量监测实时数据",
		"空气质量监测站经物联网感知平台实时上报的颗粒物和气态污染物浓度、空气质量指数及级别，以及气温和相对湿度观测值。",
		[]string{"空气质量", "AQI", "环境监测"}},
	"WaterQualityObserved": {"水质监测实时数据",
		"水质自动监测站实时上报的水温、pH、电导率、溶解氧、浊度及氨氮、总磷、化学需氧量、生化需氧量等水质指标观测值。",
		[]string{"水质", "环境监测"}},
	"TrafficFlowObserved": {"道路交通流量实时数据",
		"道路交通流量检测器实时上报的断面车流量、车道占有率、平均车速和拥堵状态。",
		[]string{"交通流量", "拥堵", "车速"}},
	"NoiseLevelObserved": {"环境噪声监测实时数据",
		"噪声自动监测点实时上报的等效连续A声级和最大声级。",
		[]string{"噪声", "环境监测"}},
	"WeatherObserved": {"气象观测实时数据",
		"自动气象站实时上报的气温、相对湿度、风速、风向、降水量和气压观测值。",
		[]string{"气象", "天气"}},
	"OffStreetParking": {"停车场泊位实时数据",
		"公共停车场实时上报的总泊位数和空余泊位数。",
		[]string{"停车", "泊位"}},
	"Streetlight": {"智慧路灯运行实时数据",
		"智慧路灯实时上报的运行状态、开关状态、亮度和功率。",
		[]string{"路灯", "照明", "市政设施"}},
	"TunnelGasObserved": {"综合管廊气体监测实时数据",
		"城市地下综合管廊舱室内甲烷、硫化氢、氧气和一氧化碳浓度的实时监测数据，用于管廊运行安全预警。",
		[]string{"综合管廊", "有害气体", "城市生命线"}},
	"TunnelWaterLevelObserved": {"综合管廊水位监测实时数据",
		"城市地下综合管廊舱室积水水位的实时监测数据，用于管廊排水和防汛预警。",
		[]string{"综合管廊", "积水", "城市生命线"}},
	"TunnelEnvironmentObserved": {"综合管廊温湿度监测实时数据",
		"城市地下综合管廊舱室内温度和相对湿度的实时监测数据。",
		[]string{"综合管廊", "温湿度", "城市生命线"}},
}

// DeviceTypeEntry builds the catalog entry of a device type's stream,
// provided by the department providerID: format 流媒体, updated 实时, one
// data item for the device, one for the observation time (together the
// primary key) and one for each property. The entry is unsaved and passes
// CatalogEntry.Validate.
func DeviceTypeEntry(t *DeviceType, providerID int64) *CatalogEntry {
	p, ok := streamPolicies[t.Category]
	if !ok {
		p = defaultStreamPolicy
	}
	text, ok := streamTexts[t.Name]
	if !ok {
		text.name = t.Label + "实时数据"
		text.abstract = t.Label + "经物联网感知平台实时上报的观测数据。"
	}
	e := &CatalogEntry{
		ClassificationCode: p.class,
		Name:               text.name,
		ProviderID:         providerID,
		Abstract: text.abstract + "数据按设备类型 " + t.Name + "（FIWARE Smart Data Models）接收，" +
			"逐条校验合理范围，同一设备同一观测时间只保存一次，迟到数据最长接收7天；信息项随设备类型的属性同步。",
		Format:         FormatStream,
		Items:          DeviceTypeItems(t, p.sens),
		ShareType:      p.share,
		ShareCondition: p.shareCondition,
		ShareBasis:     p.shareBasis,
		ShareMethod:    streamShareMethod,
		OpenType:       p.open,
		OpenCondition:  p.openCondition,
		OpenBasis:      p.openBasis,
		UpdateCycle:    CycleRealtime,
		Domain:         p.domain,
		Tags:           append([]string{"物联网", "实时数据"}, text.tags...),
	}
	e.Tags = append(e.Tags, DeviceTypeTag(t.Name))
	return e
}

// DeviceTypeItems are the data items of a device type's stream: the device
// and the observation time, then the properties in the type's order, all of
// sensitivity sens. Numbers are 数值型 (N), booleans 逻辑型 (L), text
// 字符型 (C) of up to 200 bytes, as Property.Check accepts.
func DeviceTypeItems(t *DeviceType, sens string) []DataItem {
	items := []DataItem{
		{Name: "设备编号", Code: StreamDeviceItem, Type: "C", Length: 100, Required: true, PrimaryKey: true, Sensitivity: sens,
			Description: "设备名称，平台内唯一；NGSI-LD 实体标识为 urn:ngsi-ld:" + t.Name + ":<设备编号>"},
		{Name: "观测时间", Code: StreamTimeItem, Type: "T", Required: true, PrimaryKey: true, Sensitivity: sens,
			Description: "传感器的观测时间，精确到毫秒"},
	}
	for _, p := range t.Properties {
		it := DataItem{Name: p.Label, Code: p.Name, Sensitivity: sens}
		var desc []string
		switch p.Kind {
		case KindNumber:
			it.Type = "N"
			if p.UnitSym != "" {
				it.Name += "(" + p.UnitSym + ")"
				unit := "单位 " + p.UnitSym
				if p.Unit != "" {
					unit += "（UN/CEFACT " + p.Unit + "）"
				}
				desc = append(desc, unit)
			}
			if p.Min != nil && p.Max != nil {
				desc = append(desc, "合理范围 "+plain(*p.Min)+"～"+plain(*p.Max))
			} else if p.Min != nil || p.Max != nil {
				desc = append(desc, "合理范围 "+p.rangeText())
			}
		case KindBool:
			it.Type = "L"
			desc = append(desc, "是或否")
		default:
			it.Type, it.Length = "C", 200
		}
		desc = append(desc, "属性 "+p.Name+"（"+p.LabelEn+"）")
		it.Description = strings.Join(desc, "；")
		items = append(items, it)
	}
	return items
}

// plain writes f without an exponent: 100000, not 1e+05.
func plain(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// FindDeviceTypeEntry finds the catalog entry of the device type called
// name by its tag, whatever its status; the oldest when there are several.
func FindDeviceTypeEntry(ctx context.Context, s CatalogSearcher, name string) (*CatalogEntry, error) {
	res, err := s.SearchCatalog(ctx, CatalogQuery{Tag: DeviceTypeTag(name), Scope: CatalogScope{All: true}, Limit: 100})
	if err != nil {
		return nil, err
	}
	var found *CatalogEntry
	for _, e := range res.Entries {
		if found == nil || e.ID < found.ID {
			found = e
		}
	}
	if found == nil {
		return nil, Errorf(ENOTFOUND, "no catalog entry for device type %s", name)
	}
	return found, nil
}

// EnsureDeviceTypeEntries gives every known device type its catalog entry,
// provided by the department providerID (the platform operator's), and
// returns how many it created and updated. It is idempotent: a type whose
// entry exists (found by its tag, in any status, whoever provides it) gets
// no new one, and an entry whose data items match its type's properties is
// left alone. When they differ, the items are replaced as a new version
// (other fields stay as stewards left them; a steward's sensitivity of an
// item is kept). An entry under review cannot change: it gets one open
// change request instead, and the next run after the review updates it.
// New entries are drafts, reviewed like any other. ctx carries the actor.
func EnsureDeviceTypeEntries(ctx context.Context, store CatalogService, providerID int64) (created, updated int, err error) {
	if providerID <= 0 {
		return 0, 0, &Error{Code: EINVALID, Message: "device type entries need a providing department",
			Fields: map[string]string{"provider_id": "required"}}
	}
	for _, t := range DeviceTypes() {
		want := DeviceTypeEntry(&t, providerID)
		have, err := FindDeviceTypeEntry(ctx, store, t.Name)
		switch {
		case ErrorCode(err) == ENOTFOUND:
			if err := store.CreateEntry(ctx, want); err != nil {
				return created, updated, fmt.Errorf("catalog entry of device type %s: %w", t.Name, err)
			}
			created++
			continue
		case err != nil:
			return created, updated, err
		}
		items := syncedItems(have.Items, want.Items)
		if slices.Equal(have.Items, items) {
			continue
		}
		if !have.Editable() {
			if err := requestItemSync(ctx, store, have, items, t.Name); err != nil {
				return created, updated, fmt.Errorf("catalog entry of device type %s: %w", t.Name, err)
			}
			continue
		}
		next := *have
		next.Items = items
		if err := store.UpdateEntry(ctx, &next, "物联网设备类型 "+t.Name+" 的属性已变化，信息项随之同步"); err != nil {
			return created, updated, fmt.Errorf("catalog entry of device type %s: %w", t.Name, err)
		}
		updated++
	}
	return created, updated, nil
}

// syncedItems are the items want, each keeping the sensitivity and
// validator a steward gave the item of the same code in have.
func syncedItems(have, want []DataItem) []DataItem {
	out := slices.Clone(want)
	for i := range out {
		j := slices.IndexFunc(have, func(it DataItem) bool { return it.Code == out[i].Code })
		if j >= 0 {
			out[i].Sensitivity, out[i].Validator = have[j].Sensitivity, have[j].Validator
		}
	}
	return out
}

// requestItemSync files a change request saying which items of e must
// follow its device type, unless an open one says so already.
func requestItemSync(ctx context.Context, store CatalogService, e *CatalogEntry, items []DataItem, typeName string) error {
	next := *e
	next.Items = items
	var names []string
	for _, c := range Diff(e, &next) {
		names = append(names, strings.TrimSuffix(strings.TrimPrefix(c.Field, "items["), "]"))
	}
	reason := "物联网设备类型 " + typeName + " 的属性已变化，以下信息项需同步：" + strings.Join(names, "、") +
		"。审核结束后平台将自动更新。"
	if utf8.RuneCountInString(reason) > 2000 {
		reason = string([]rune(reason)[:1999]) + "…"
	}
	open, err := store.ChangeRequests(ctx, e.ID)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(open, func(cr *ChangeRequest) bool { return cr.ResolvedAt == nil && cr.Reason == reason }) {
		return nil
	}
	return store.CreateChangeRequest(ctx, &ChangeRequest{EntryID: e.ID, Reason: reason})
}
