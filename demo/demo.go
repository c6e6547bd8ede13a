// Package demo loads the demo city: Ningbo's municipal departments, the
// ten district governments and a few users for every role, so a new user
// sees the platform working within a minute. Later capabilities add their
// own demo data here. Loading twice changes nothing.
package demo

import (
	"context"
	"fmt"
	"strings"

	"github.com/cityhub/cityhub"
)

// Password is every demo user's password. The demo is for trying the
// platform out, not for production.
const Password = "Demo-2026-cityhub"

// CityDivision is Ningbo, the demo city.
const CityDivision = "330200"

type dept struct {
	name, short string
	division    string
	parent      string // short name of the parent department
}

// departments of the municipal government as the plan names them, then the
// district governments (real GB/T 2260 codes) and two district bureaus.
var departments = []dept{
	{"宁波市大数据管理局", "市大数据管理局", CityDivision, ""},
	{"宁波市经济和信息化委员会", "市经信委", CityDivision, ""},
	{"宁波市发展和改革委员会", "市发改委", CityDivision, ""},
	{"宁波市电子政务办公室", "市电子政务办", CityDivision, "市大数据管理局"},
	{"宁波市统计局", "市统计局", CityDivision, ""},
	{"宁波市城市管理局", "市城管局", CityDivision, ""},
	{"宁波市规划局", "市规划局", CityDivision, ""},
	{"宁波市交通运输委员会", "市交通委", CityDivision, ""},
	{"宁波市住房和城乡建设委员会", "市住建委", CityDivision, ""},
	{"宁波市国土资源局", "市国土局", CityDivision, ""},
	{"宁波市市场监督管理局", "市市场监管局", CityDivision, ""},
	{"宁波市公安局", "市公安局", CityDivision, ""},
	{"宁波市环境保护局", "市环保局", CityDivision, ""},
	{"宁波市民政局", "市民政局", CityDivision, ""},
	{"宁波市卫生和计划生育委员会", "市卫计委", CityDivision, ""},
	{"宁波市人力资源和社会保障局", "市人社局", CityDivision, ""},
	{"宁波市水利局", "市水利局", CityDivision, ""},
	{"宁波市安全生产监督管理局", "市安监局", CityDivision, ""},
	{"宁波市海曙区人民政府", "海曙区政府", "330203", ""},
	{"宁波市江北区人民政府", "江北区政府", "330205", ""},
	{"宁波市北仑区人民政府", "北仑区政府", "330206", ""},
	{"宁波市镇海区人民政府", "镇海区政府", "330211", ""},
	{"宁波市鄞州区人民政府", "鄞州区政府", "330212", ""},
	{"宁波市奉化区人民政府", "奉化区政府", "330213", ""},
	{"象山县人民政府", "象山县政府", "330225", ""},
	{"宁海县人民政府", "宁海县政府", "330226", ""},
	{"余姚市人民政府", "余姚市政府", "330281", ""},
	{"慈溪市人民政府", "慈溪市政府", "330282", ""},
	{"宁波市海曙区大数据发展中心", "海曙区大数据中心", "330203", "海曙区政府"},
	{"宁波市鄞州区大数据发展中心", "鄞州区大数据中心", "330212", "鄞州区政府"},
}

type user struct {
	username, name, dept string
	roles                []string
}

var users = []user{
	{"auditor", "安全审计员", "", []string{cityhub.RoleAuditor}},
	{"dsj.admin", "陈建国", "市大数据管理局", []string{cityhub.RoleDeptAdmin, cityhub.RoleSteward}},
	{"jxw.steward", "王丽", "市经信委", []string{cityhub.RoleSteward}},
	{"gaj.admin", "李强", "市公安局", []string{cityhub.RoleDeptAdmin}},
	{"gaj.steward", "赵敏", "市公安局", []string{cityhub.RoleSteward}},
	{"hbj.steward", "周洁", "市环保局", []string{cityhub.RoleSteward}},
	{"jtw.steward", "孙涛", "市交通委", []string{cityhub.RoleSteward}},
	{"fgw.consumer", "吴磊", "市发改委", []string{cityhub.RoleConsumer}},
	{"scjg.consumer", "郑华", "市市场监管局", []string{cityhub.RoleConsumer}},
	{"cgj.operator", "冯刚", "市城管局", []string{cityhub.RoleOperator}},
	{"haishu.steward", "何静", "海曙区大数据中心", []string{cityhub.RoleSteward}},
	{"reviewer", "目录审核员", "市大数据管理局", []string{cityhub.RoleReviewer}},
	{"scjg.steward", "许鹏", "市市场监管局", []string{cityhub.RoleSteward}},
	{"cgj.steward", "高峰", "市城管局", []string{cityhub.RoleSteward}},
}

// orgCodeCheck is the check character of a GB 11714 organisation code
// (the ninth character of its 9-character code).
func orgCodeCheck(first8 string) byte {
	weights := [8]int{3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 8; i++ {
		c := first8[i]
		v := int(c - '0')
		if c >= 'A' {
			v = int(c-'A') + 10
		}
		sum += v * weights[i]
	}
	switch c := 11 - sum%11; c {
	case 10:
		return 'X'
	case 11:
		return '0'
	default:
		return byte('0' + c)
	}
}

// CreditCode returns a synthetic but valid unified social credit code of a
// government organ (registration authority 1, type 1) in division, with
// sequence number n. Both check characters are computed.
func CreditCode(division string, n int) string {
	org := fmt.Sprintf("%08d", 2900000+n)
	first17 := "11" + division + org + string(orgCodeCheck(org))
	check, err := cityhub.CreditCodeCheckChar(first17)
	if err != nil {
		panic(err) // digits only: cannot happen
	}
	return first17 + string(check)
}

// operator is the demo's platform operator, which provides the device
// streams' catalog entries.
const operator = "市大数据管理局"

// loadStreamEntries gives every device type its catalog entry and
// publishes those it added.
func loadStreamEntries(ctx context.Context, store cityhub.Store, provider int64) (int, error) {
	created, _, err := cityhub.EnsureDeviceTypeEntries(ctx, store, provider)
	if err != nil || created == 0 {
		return 0, err
	}
	for _, t := range cityhub.DeviceTypes() {
		e, err := cityhub.FindDeviceTypeEntry(ctx, store, t.Name)
		if err != nil {
			return 0, err
		}
		if e.Status != cityhub.StatusDraft {
			continue
		}
		for _, step := range []cityhub.Transition{cityhub.ActSubmit, cityhub.ActApprove, cityhub.ActPublish} {
			if _, err := store.TransitionEntry(ctx, e.ID, step, ""); err != nil {
				return 0, fmt.Errorf("%s %s: %w", step, e.Name, err)
			}
		}
	}
	return created, nil
}

// Load adds the demo city to store, skipping what is already there, and
// returns a short report for the console.
func Load(ctx context.Context, store cityhub.Store, hash func(string) string) (string, error) {
	existing, _, err := store.Departments(ctx, cityhub.DepartmentFilter{Limit: 1000})
	if err != nil {
		return "", err
	}
	ids := map[string]int64{}
	for _, d := range existing {
		ids[d.ShortName] = d.ID
	}
	added := 0
	for i, d := range departments {
		if _, ok := ids[d.short]; ok {
			continue
		}
		level := cityhub.LevelDistrict
		if d.division == CityDivision {
			level = cityhub.LevelCity
		}
		dep := &cityhub.Department{Name: d.name, ShortName: d.short, CreditCode: CreditCode(d.division, i+1),
			Division: d.division, Level: level}
		if d.parent != "" {
			p := ids[d.parent]
			dep.ParentID = &p
		}
		if err := store.CreateDepartment(ctx, dep); err != nil {
			return "", fmt.Errorf("department %s: %w", d.name, err)
		}
		ids[d.short] = dep.ID
		added++
	}
	addedUsers := 0
	pwHash := ""
	for _, u := range users {
		if _, _, err := store.UserByUsername(ctx, u.username); err == nil {
			continue
		} else if cityhub.ErrorCode(err) != cityhub.ENOTFOUND {
			return "", err
		}
		if pwHash == "" {
			pwHash = hash(Password)
		}
		nu := &cityhub.User{Username: u.username, DisplayName: u.name, Roles: u.roles}
		if u.dept != "" {
			id := ids[u.dept]
			nu.DepartmentID = &id
		}
		if err := store.CreateUser(ctx, nu, pwHash); err != nil {
			return "", fmt.Errorf("user %s: %w", u.username, err)
		}
		addedUsers++
	}
	names := map[string]string{}
	for _, d := range departments {
		names[d.short] = d.name
	}
	entries, err := loadCatalog(ctx, store, ids, names)
	if err != nil {
		return "", fmt.Errorf("demo catalog: %w", err)
	}
	streams, err := loadStreamEntries(ctx, store, ids[operator])
	if err != nil {
		return "", fmt.Errorf("demo stream entries: %w", err)
	}
	if pwHash == "" {
		pwHash = hash(Password)
	}
	engaged, err := loadEngagement(ctx, store, pwHash)
	if err != nil {
		return "", fmt.Errorf("demo portal activity: %w", err)
	}
	var b strings.Builder
	if entries > 0 {
		fmt.Fprintf(&b, "Demo catalog: %d entries loaded.\n", entries)
	}
	if engaged {
		fmt.Fprintf(&b, "Open-data portal /open/: public user %s (password %s) has rated, commented, asked for data and applied for access.\n", Citizen, Password)
	}
	if streams > 0 {
		fmt.Fprintf(&b, "Demo catalog: %d device-stream entries (流媒体, 实时) added and published.\n", streams)
	}
	fmt.Fprintf(&b, "Demo city 宁波市 (%s): %d departments, %d users (%d added now).\n", CityDivision, len(departments), len(users), added+addedUsers)
	fmt.Fprintf(&b, "  Demo users (password %s):", Password)
	for _, u := range users {
		fmt.Fprintf(&b, " %s", u.username)
	}
	b.WriteString("\n")
	return b.String(), nil
}
