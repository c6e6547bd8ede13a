package demo

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/loader"
	"github.com/cityhub/cityhub/tabular"
)

// demoTables are the entries that get rows, by name, and how to make them.
var demoTables = []struct {
	entry string
	rows  func(rng *rand.Rand) [][]string
}{
	{"宁波市企业登记基本信息", enterprises},
	{"宁波市智慧路灯设施信息", streetlights},
	{"宁波市国民经济主要指标", indicators},
}

func hasDemoTable(entry string) bool {
	for _, t := range demoTables {
		if t.entry == entry {
			return true
		}
	}
	return false
}

// loadRows loads real-shaped rows into a few demo entries through the same
// loader a department's file goes through: CSV text, mapped by header.
func loadRows(ctx context.Context, store cityhub.Store, entries []*cityhub.CatalogEntry) (int64, error) {
	byName := map[string]*cityhub.CatalogEntry{}
	for _, e := range entries {
		byName[e.Name] = e
	}
	rng := rand.New(rand.NewPCG(2026, 330200))
	var total int64
	for _, t := range demoTables {
		e := byName[t.entry]
		if e == nil {
			continue
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		header := make([]string, len(e.Items))
		for i, it := range e.Items {
			header[i] = it.Name
		}
		w.Write(header)
		w.WriteAll(t.rows(rng))
		job, err := loader.Load(ctx, store, e, &buf, int64(buf.Len()), loader.Options{Mode: cityhub.LoadReplace,
			Source: "demo.csv", Read: tabular.Options{Format: tabular.CSV}})
		if err != nil {
			return 0, fmt.Errorf("rows of %s: %w", e.Name, err)
		}
		if job.Status != cityhub.JobSucceeded || job.Rejected > 0 {
			return 0, fmt.Errorf("rows of %s: %s, %d rejected", e.Name, job.Status, job.Rejected)
		}
		total += job.Stored
	}
	return total, nil
}

var (
	districtsShort = []string{"海曙", "江北", "北仑", "镇海", "鄞州", "奉化", "象山", "宁海", "余姚", "慈溪"}
	divisionCodes  = []string{"330203", "330205", "330206", "330211", "330212", "330213", "330225", "330226", "330281", "330282"}
	trades         = []string{"贸易", "科技", "物流", "机械制造", "电子", "文化传媒", "餐饮管理", "建筑工程", "新材料", "汽车零部件", "服装", "海洋渔业"}
	words          = []string{"甬江", "东钱湖", "天一", "四明", "港通", "海天", "明州", "月湖", "三江", "梁祝", "河姆渡", "慈城"}
	surnames       = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马", "罗"}
	given          = []string{"建国", "丽华", "伟", "芳", "磊", "静", "海波", "晓东", "敏", "志强", "秀英", "军"}
	roads          = []string{"中山东路", "解放南路", "世纪大道", "天童南路", "江东北路", "百丈路", "环城南路", "鄞州大道", "院士路", "通途路"}
)

// creditCode makes a valid 18-character code of an enterprise (registration
// authority 9, type 1) in a division.
func creditCode(division string, n int) string {
	const charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	body := "91" + division + "MA2"
	for i := 0; len(body) < 17; i++ {
		body += string(charset[(n>>(5*i))%31])
	}
	c, _ := cityhub.CreditCodeCheckChar(body)
	return body + string(c)
}

func enterprises(rng *rand.Rand) [][]string {
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	types := []string{"有限责任公司", "股份有限公司", "个人独资企业", "合伙企业"}
	statuses := []string{"存续", "存续", "存续", "存续", "在业", "迁出", "注销"}
	var out [][]string
	for i := 0; i < 2000; i++ {
		d := rng.IntN(len(districtsShort))
		name := fmt.Sprintf("宁波%s%s%s有限公司", districtsShort[d], pick(words), pick(trades))
		if i%7 == 0 {
			name = fmt.Sprintf("宁波%s%s%s股份有限公司", districtsShort[d], pick(words), pick(trades))
		}
		founded := fmt.Sprintf("%04d-%02d-%02d", 1995+rng.IntN(31), 1+rng.IntN(12), 1+rng.IntN(28))
		out = append(out, []string{creditCode(divisionCodes[d], 10007+i*7919), name, pick(types), pick(surnames) + pick(given),
			strconv.Itoa((1 + rng.IntN(200)) * 50), founded, pick(trades) + "相关业务；货物进出口。", pick(statuses),
			fmt.Sprintf("浙江省宁波市%s区%s%d号", districtsShort[d], pick(roads), 1+rng.IntN(999))})
	}
	return out
}

func streetlights(rng *rand.Rand) [][]string {
	states := []string{"正常", "正常", "正常", "正常", "故障", "维修中"}
	lamps := []string{"LED", "LED", "高压钠灯", "金卤灯"}
	var out [][]string
	for i := 0; i < 1500; i++ {
		out = append(out, []string{fmt.Sprintf("NB-LD-%05d", i+1), roads[rng.IntN(len(roads))], lamps[rng.IntN(len(lamps))],
			strconv.Itoa([]int{60, 90, 120, 150, 250}[rng.IntN(5)]), states[rng.IntN(len(states))],
			strconv.FormatFloat(121.45+rng.Float64()*0.25, 'f', 6, 64), strconv.FormatFloat(29.80+rng.Float64()*0.15, 'f', 6, 64)})
	}
	return out
}

func indicators(rng *rand.Rand) [][]string {
	series := []struct {
		name, unit string
		base       float64
	}{{"地区生产总值", "亿元", 1380}, {"规模以上工业增加值", "亿元", 420}, {"社会消费品零售总额", "亿元", 440},
		{"固定资产投资", "亿元", 360}, {"进出口总额", "亿元", 1050}, {"一般公共预算收入", "亿元", 160}}
	var out [][]string
	for _, s := range series {
		for m := 1; m <= 24; m++ {
			year, month := 2025+(m-1)/12, (m-1)%12+1
			v := s.base * (1 + 0.05*float64(m)/12 + (rng.Float64()-0.5)*0.04)
			out = append(out, []string{s.name, fmt.Sprintf("%04d-%02d", year, month), strconv.FormatFloat(v, 'f', 2, 64), s.unit,
				strconv.FormatFloat(3+rng.Float64()*5, 'f', 1, 64)})
		}
	}
	return out
}
