package demo

import (
	"context"
	"fmt"

	"github.com/cityhub/cityhub"
)

// Citizen is the demo's public user on the open-data portal (password
// Password).
const Citizen = "citizen"

// loadEngagement shows the portal's public side at work: a citizen who
// rated and commented on the enterprise register (with the provider's
// reply), asked for bus arrival data (answered by the transport
// commission) and applied for a dataset open on conditions (waiting for
// its provider), and put two applications in the showcase (成果展示): one
// shown, approved by the platform administrator "admin" when the server
// made one, one waiting for review. It runs once: nothing is added when the
// citizen exists.
func loadEngagement(ctx context.Context, store cityhub.Store, pwHash string) (bool, error) {
	if _, _, err := store.UserByUsername(ctx, Citizen); err == nil {
		return false, nil
	} else if cityhub.ErrorCode(err) != cityhub.ENOTFOUND {
		return false, err
	}
	citizen := &cityhub.User{Username: Citizen, DisplayName: "市民张先生", Roles: []string{cityhub.RolePublic}}
	if err := store.CreateUser(ctx, citizen, pwHash); err != nil {
		return false, err
	}
	as := func(username string) (context.Context, error) {
		u, _, err := store.UserByUsername(ctx, username)
		if err != nil {
			return nil, fmt.Errorf("demo user %s: %w", username, err)
		}
		return cityhub.WithActor(ctx, cityhub.Actor{UserID: u.ID, Username: u.Username}), nil
	}
	me, err := as(Citizen)
	if err != nil {
		return false, err
	}
	find := func(q cityhub.CatalogQuery) (*cityhub.CatalogEntry, error) {
		q.Public, q.Limit = true, 1
		res, err := store.SearchCatalog(ctx, q)
		if err != nil || res.Total == 0 {
			return nil, fmt.Errorf("demo open entry %q: %v", q.Q, err)
		}
		return res.Entries[0], nil
	}
	register, err := find(cityhub.CatalogQuery{Q: "企业登记基本信息"})
	if err != nil {
		return false, err
	}
	if _, err := store.RateEntry(me, register.ID, 5); err != nil {
		return false, err
	}
	c := &cityhub.Comment{EntryID: register.ID, Body: "数据很全，建议增加企业经营异常名录的关联字段。"}
	if err := store.CreateComment(me, c); err != nil {
		return false, err
	}
	steward, err := as("scjg.steward")
	if err != nil {
		return false, err
	}
	if err := store.CreateComment(steward, &cityhub.Comment{EntryID: register.ID, ParentID: &c.ID,
		Body: "感谢建议，经营异常名录将在下一版本中关联开放。"}); err != nil {
		return false, err
	}
	deps, _, err := store.Departments(ctx, cityhub.DepartmentFilter{Query: "市交通委", Limit: 1})
	if err != nil || len(deps) == 0 {
		return false, fmt.Errorf("demo department 市交通委: %v", err)
	}
	req := &cityhub.DataRequest{Title: "公交车辆实时到站数据", Description: "希望开放全市公交线路的车辆实时位置和预计到站时间，用于开发出行小程序。",
		ProviderID: &deps[0].ID, Domain: "traffic"}
	if err := store.CreateDataRequest(me, req); err != nil {
		return false, err
	}
	transport, err := as("jtw.steward")
	if err != nil {
		return false, err
	}
	if _, err := store.AnswerDataRequest(transport, req.ID, cityhub.RequestAnswer{Status: cityhub.RequestPlanned,
		Reply: "已纳入今年开放计划，预计第四季度通过接口开放。"}); err != nil {
		return false, err
	}
	parking, err := find(cityhub.CatalogQuery{Q: "公共停车场泊位信息"})
	if err != nil {
		return false, err
	}
	app := &cityhub.ShowcaseItem{Title: "甬城停车助手", URL: "https://example.org/ningbo-parking",
		Description: "在地图上显示附近公共停车场的空余泊位，帮助市民就近停车、错峰出行。", EntryIDs: []int64{parking.ID}}
	if err := store.CreateShowcaseItem(me, app); err != nil {
		return false, err
	}
	if admin, err := as("admin"); err == nil {
		if _, err := store.DecideShowcaseItem(admin, app.ID, true, ""); err != nil {
			return false, err
		}
	}
	if err := store.CreateShowcaseItem(me, &cityhub.ShowcaseItem{Title: "企业信息速查小程序", URL: "https://example.org/company-lookup",
		Description: "输入企业名称即可查看登记信息和经营范围，数据来自企业登记基本信息。", EntryIDs: []int64{register.ID}}); err != nil {
		return false, err
	}
	if conditional, err := find(cityhub.CatalogQuery{OpenType: cityhub.Conditional}); err == nil {
		if err := store.CreateAccessApplication(me, &cityhub.AccessApplication{EntryID: conditional.ID,
			Purpose: "用于高校课题“城市运行数据分析”的研究，不对外提供原始数据。", Organization: "宁波大学"}); err != nil {
			return false, err
		}
	}
	return true, nil
}
