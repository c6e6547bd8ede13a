// Package synth makes the synthetic data the benchmarks share: catalog
// entries with Chinese names and abstracts, and a table of enterprises
// with valid credit codes, so every benchmark measures the same corpus.
package synth

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/cityhub/cityhub"
)

var (
	districts = []string{"海曙区", "江北区", "北仑区", "镇海区", "鄞州区", "奉化区", "象山县", "宁海县", "余姚市", "慈溪市", "宁波市"}
	subjects  = []string{"路灯", "井盖", "企业", "空气质量", "水质", "公交", "停车场", "医院", "学校", "养老机构", "消防栓",
		"垃圾分类", "菜市场", "加油站", "充电桩", "地铁站", "公园", "体育场馆", "图书馆", "药店", "小区", "桥梁", "隧道",
		"河道", "水库", "雨量站", "噪声", "扬尘", "危化品", "电梯", "燃气管网", "供水管网", "排水管网", "综合管廊", "农贸市场"}
	aspects = []string{"基本信息", "监测数据", "许可信息", "巡查记录", "运行状态", "统计数据", "分布信息", "检查结果", "维护记录", "投诉信息"}
	phrases = []string{"包括名称、地址、经纬度坐标和主管部门。", "按日汇总，数据来源于物联网感知设备。", "含历年统计与同比变化。",
		"用于城市运行监测和应急指挥。", "经部门审核后共享至共享交换平台。", "面向社会开放，可在开放平台下载。",
		"数据项包括编号、状态和更新时间。", "覆盖全市各街道和乡镇。"}
	tagsEN    = []string{"traffic", "environment", "air quality", "water", "energy", "health", "education", "parking", "street light", "safety"}
	itemNames = []string{"编号", "名称", "地址", "经度", "纬度", "状态", "更新时间", "负责人", "联系电话", "所属街道", "类型", "面积", "数量"}
)

// Importer is the store's bulk import.
type Importer interface {
	ImportEntries(ctx context.Context, rows []cityhub.ImportRow, opts cityhub.ImportOptions) (*cityhub.ImportReport, error)
}

// Entries creates n published entries through the bulk import, 1,000 a
// batch, with providers picked from depts. A quarter of those outside
// class 1 are shared on conditions and not open.
func Entries(ctx context.Context, s Importer, depts []*cityhub.Department, n int) error {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	var rows []cityhub.ImportRow
	flush := func() error {
		rep, err := s.ImportEntries(ctx, rows, cityhub.ImportOptions{KeepStatus: true})
		if err != nil {
			return err
		}
		if len(rep.Problems) > 0 {
			return fmt.Errorf("row %d: %s %s", rep.Problems[0].Row, rep.Problems[0].Field, rep.Problems[0].Reason)
		}
		rows = rows[:0]
		return nil
	}
	classes := []string{"101", "102", "103", "104", "105", "201", "202", "203", "204", "205", "206", "207", "208", "209", "210", "211", "212"}
	for i := 0; i < n; i++ {
		subject := pick(subjects)
		e := &cityhub.CatalogEntry{
			ClassificationCode: pick(classes), Name: pick(districts) + subject + pick(aspects),
			ProviderID: depts[rng.IntN(len(depts))].ID, Abstract: subject + "的" + pick(aspects) + "，" + pick(phrases) + pick(phrases),
			Format: pick([]string{"sheet", "database", "stream", "file"}), UpdateCycle: pick([]string{"daily", "monthly", "yearly", "realtime"}),
			ShareType: cityhub.Unconditional, ShareMethod: "接口调用", OpenType: cityhub.Unconditional, Domain: pick([]string{"traffic", "environment", "urban", "market"}),
			Tags: []string{subject, pick(tagsEN)}, Status: cityhub.StatusPublished,
		}
		if rng.IntN(4) == 0 && e.ClassificationCode[0] != '1' {
			e.ShareType, e.ShareCondition, e.ShareBasis = cityhub.Conditional, "履职需要", "国发〔2016〕51号"
			e.OpenType, e.OpenBasis = cityhub.NotShared, "涉及个人信息"
		}
		for j := 0; j < 4+rng.IntN(6); j++ {
			e.Items = append(e.Items, cityhub.DataItem{Name: fmt.Sprintf("%s%d", pick(itemNames), j), Type: "C", Length: 50, Sensitivity: cityhub.SensPublic})
		}
		rows = append(rows, cityhub.ImportRow{Row: i + 1, Entry: e})
		if len(rows) == 1000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if len(rows) > 0 {
		return flush()
	}
	return nil
}

// EnterpriseHeader and EnterpriseItems describe the enterprise table:
// the mobile number is sensitive, 成立日期 is spread over 30 years.
var EnterpriseHeader = []string{"统一社会信用代码", "企业名称", "区县", "注册资本(万元)", "成立日期", "从业人数", "联系电话"}

var EnterpriseItems = []cityhub.DataItem{
	{Name: "统一社会信用代码", Code: "credit_code", Type: "C", Length: 18, PrimaryKey: true, Sensitivity: "public"},
	{Name: "企业名称", Code: "name", Type: "C", Length: 200, Required: true, Sensitivity: "public"},
	{Name: "区县", Code: "district", Type: "C", Length: 10, Sensitivity: "public"},
	{Name: "注册资本(万元)", Code: "capital", Type: "N", Sensitivity: "public"},
	{Name: "成立日期", Code: "founded", Type: "D", Sensitivity: "public"},
	{Name: "从业人数", Code: "staff", Type: "N", Sensitivity: "public"},
	{Name: "联系电话", Code: "mobile", Type: "C", Length: 20, Validator: "mobile", Sensitivity: "sensitive"},
}

// WriteEnterprisesCSV writes n rows of enterprises with valid credit codes and mobile
// numbers, and founding dates over 30 years.
func WriteEnterprisesCSV(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(strings.Join(EnterpriseHeader, ",") + "\n")
	rng := rand.New(rand.NewPCG(1, 2))
	const charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	districts := []string{"海曙区", "江北区", "北仑区", "镇海区", "鄞州区", "奉化区", "象山县", "宁海县", "余姚市", "慈溪市"}
	base := time.Date(1995, 1, 1, 0, 0, 0, 0, time.UTC)
	code := []byte("91330200MA2000000")
	for i := 0; i < n; i++ {
		for j, k := 0, i; j < 9; j, k = j+1, k/31 {
			code[16-j] = charset[k%31]
		}
		check, _ := cityhub.CreditCodeCheckChar(string(code))
		day := base.AddDate(0, 0, rng.IntN(30*365)).Format("2006-01-02")
		fmt.Fprintf(w, "%s%c,宁波企业%d有限公司,%s,%d,%s,%d,13%09d\n", code, check, i, districts[rng.IntN(10)],
			50*(1+rng.IntN(400)), day, 1+rng.IntN(500), rng.IntN(1e9))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
