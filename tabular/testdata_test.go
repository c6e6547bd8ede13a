package tabular

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cityhub/cityhub"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// go test ./tabular -run TestTestdata -update rewrites testdata/.
var update = flag.Bool("update", false, "rewrite the files in testdata/")

// enterpriseItems are the data items of the enterprise files.
var enterpriseItems = []cityhub.DataItem{
	{Name: "统一社会信用代码", Code: "credit_code", Type: "C", Length: 18, Required: true, PrimaryKey: true},
	{Name: "企业名称", Code: "name", Type: "C", Length: 200, Required: true},
	{Name: "法定代表人", Code: "legal_rep", Type: "C", Length: 50},
	{Name: "注册资本（万元）", Code: "reg_capital", Type: "N"},
	{Name: "成立日期", Code: "established", Type: "D"},
	{Name: "从业人数", Code: "employees", Type: "N"},
	{Name: "邮政编码", Code: "postcode", Type: "C", Length: 6},
	{Name: "更新时间", Code: "updated_at", Type: "T"},
}

// enterprise is one row of the enterprise files.
type enterprise struct {
	code, name, rep, capital, established, employees, postcode, updated string
}

var enterprises = []enterprise{
	{creditCode("91330203MA2AB1C2"), "宁波海曙甬江贸易有限公司", "王建国", "500", "2015-03-18", "42", "315000", "2026-01-05 09:30:00"},
	{creditCode("91330212MA2CD3E4"), "宁波鄞州\"东钱湖\"文旅发展有限公司", "陈丽华", "12000.5", "2019-11-02", "318", "315100", "2026-01-05 10:00:00"},
	{creditCode("92330205MA2EF5G6"), "江北区老外滩小吃店（个体工商户）", "李明", "", "2021-07-30", "3", "315020", "2026-01-06 14:15:30"},
	{creditCode("91330206MA2GH7J8"), "宁波北仑港通物流股份有限公司, 集装箱分公司", "赵磊", "80000", "2008-01-01", "1520", "315800", "2026-01-07 08:00:00"},
	{creditCode("91330281MA2JK9L0"), "余姚市舜水机械制造有限公司", "孙伟", "3000", "2012-05-20", "96", "315400", "2026-01-07 16:45:00"},
}

// creditCode makes a unified social credit code of its first 8
// characters (registering authority, type, division) and the 8 characters
// of an organization code, adding the organization code's GB 11714 check
// character and the GB 32100 check character.
func creditCode(s string) string {
	const chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	org := s[8:16]
	sum := 0
	for i, w := range []int{3, 7, 9, 10, 5, 8, 4, 2} {
		v := int(org[i] - '0')
		if org[i] >= 'A' {
			v = int(org[i]-'A') + 10
		}
		sum += v * w
	}
	s = s[:16] + string("0123456789X0"[11-sum%11])
	weights := []int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
	sum = 0
	for i := range 17 {
		sum += strings.IndexByte(chars, s[i]) * weights[i]
	}
	return s + string(chars[(31-sum%31)%31])
}

// citizenID completes 17 digits to a citizen ID with its GB 11643 check
// character; bad gives a wrong one instead.
func citizenID(s string, bad bool) string {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := range 17 {
		sum += int(s[i]-'0') * weights[i]
	}
	check := "10X98765432"[sum%11]
	if bad {
		check = "10X98765432"[(sum+3)%11]
	}
	return s + string(check)
}

// gb18030CSV is saved as Excel on Chinese Windows saves "CSV": GB18030,
// CRLF, a title row above the header, a blank row (commas only), quotes
// around a field with a comma and a field with quotes.
func gb18030CSV() []byte {
	var b strings.Builder
	b.WriteString("宁波市市场主体名录（2026年1月）,,,,,,\r\n")
	b.WriteString("统一社会信用代码,企业名称,法定代表人,注册资本(万元),成立日期,从业人数,邮政编码\r\n")
	for i, e := range enterprises {
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s,%s\r\n", e.code, csvQuote(e.name), e.rep, e.capital, e.established, e.employees, e.postcode)
		if i == 2 {
			b.WriteString(",,,,,,\r\n")
		}
	}
	out, err := simplifiedchinese.GB18030.NewEncoder().String(b.String())
	if err != nil {
		panic(err)
	}
	return []byte(out)
}

// bomCSV is UTF-8 with a byte order mark, LF line ends, English codes
// in their own spelling as headers, a column no item has, and a field with
// a line break.
func bomCSV() []byte {
	var b strings.Builder
	b.WriteString("\uFEFFNo.,Credit Code,NAME,Reg Capital,established,legal_rep\n")
	for i, e := range enterprises[:3] {
		name := e.name
		if i == 1 {
			name = strings.Replace(name, "文旅", "\n文旅", 1)
		}
		fmt.Fprintf(&b, "%d,%s,%s,%s,%s,%s\n", i+1, e.code, csvQuote(name), e.capital, e.established, e.rep)
	}
	return []byte(b.String())
}

func csvQuote(s string) string {
	if strings.ContainsAny(s, "\",\r\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// titleXLSX has a merged title row above the header on its first sheet,
// real Excel dates in three formats (the built-in short date, a Chinese
// date format, a custom date-time), numbers, and a postcode kept as text;
// a second sheet holds other rows.
func titleXLSX() []byte {
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "企业名录"
	must(f.SetSheetName("Sheet1", sheet))
	must(f.SetCellValue(sheet, "A1", "宁波市市场主体名录（2026年1月）"))
	must(f.MergeCell(sheet, "A1", "H1"))
	header := []any{"统一社会信用代码", "企业名称", "法定代表人", "注册资本（万元）", "成立日期", "从业人数", "邮政编码", "更新时间"}
	must(f.SetSheetRow(sheet, "A2", &header))
	short, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	must(err)
	chinese, err := f.NewStyle(&excelize.Style{NumFmt: 31}) // yyyy"年"m"月"d"日"
	must(err)
	stamp := `yyyy/m/d h:mm:ss`
	dateTime, err := f.NewStyle(&excelize.Style{CustomNumFmt: &stamp})
	must(err)
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49})
	must(err)
	for i, e := range enterprises {
		row := i + 3
		cell := func(col string) string { return fmt.Sprintf("%s%d", col, row) }
		must(f.SetCellStr(sheet, cell("A"), e.code))
		must(f.SetCellStr(sheet, cell("B"), e.name))
		must(f.SetCellStr(sheet, cell("C"), e.rep))
		if e.capital != "" {
			must(f.SetCellValue(sheet, cell("D"), mustFloat(e.capital)))
		}
		must(f.SetCellValue(sheet, cell("E"), mustTime("2006-01-02", e.established)))
		style := short
		if i%2 == 1 {
			style = chinese
		}
		must(f.SetCellStyle(sheet, cell("E"), cell("E"), style))
		must(f.SetCellValue(sheet, cell("F"), mustInt(e.employees)))
		must(f.SetCellStr(sheet, cell("G"), e.postcode))
		must(f.SetCellStyle(sheet, cell("G"), cell("G"), text))
		must(f.SetCellValue(sheet, cell("H"), mustTime("2006-01-02 15:04:05", e.updated)))
		must(f.SetCellStyle(sheet, cell("H"), cell("H"), dateTime))
	}
	_, err = f.NewSheet("说明")
	must(err)
	must(f.SetCellValue("说明", "A1", "字段"))
	must(f.SetCellValue("说明", "B1", "说明"))
	must(f.SetCellValue("说明", "A2", "成立日期"))
	must(f.SetCellValue("说明", "B2", "营业执照上的成立日期"))
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// enterpriseObjects are the enterprises as JSON objects, the keys the
// items' codes; the first object lacks postcode (which appears later),
// reg_capital is a number or null, and one value has escapes.
func enterpriseObjects() []string {
	var out []string
	for i, e := range enterprises {
		var b strings.Builder
		name, _ := json.Marshal(e.name)
		fmt.Fprintf(&b, `{"credit_code":%q,"name":%s,"legal_rep":%q,`, e.code, name, e.rep)
		if e.capital == "" {
			b.WriteString(`"reg_capital":null,`)
		} else {
			fmt.Fprintf(&b, `"reg_capital":%s,`, e.capital)
		}
		fmt.Fprintf(&b, `"established":%q,"employees":%s,"listed":%t`, e.established, e.employees, i == 3)
		if i > 0 {
			fmt.Fprintf(&b, `,"postcode":%q`, e.postcode)
		}
		b.WriteString("}")
		out = append(out, b.String())
	}
	return out
}

func ndjsonFile() []byte {
	return []byte(strings.Join(enterpriseObjects(), "\n") + "\n")
}

func jsonFile() []byte {
	return []byte("[\n  " + strings.Join(enterpriseObjects(), ",\n  ") + "\n]\n")
}

// citizens are the rows of citizens.csv, with whether the ID's check
// character is wrong.
var citizens = []struct {
	name, id, mobile, birth string
	badID                   bool
}{
	{"张伟", citizenID("33020319850612001", false), "13805741234", "1985-06-12", false},
	{"王芳", citizenID("33020419900228002", true), "13957412345", "1990-02-28", true},
	{"李娜", citizenID("33021119781103003", false), "15888001122", "1978-11-03", false},
	{"刘洋", citizenID("33020519951231004", true), "18967890123", "1995-12-31", true},
	{"陈静", citizenID("33028119880808005", false), "13600574321", "1988-08-08", false},
	{"杨磊", citizenID("33020620000101006", true), "1360057432", "2000-01-01", true},
	{"赵敏", citizenID("33022619720515007", false), "17705745566", "1972-05-15", false},
}

// citizensCSV is UTF-8 without a byte order mark; rows 3, 5 and 7 (text
// lines, the header being line 1) have an ID with a wrong check character,
// and row 7 also a mobile number one digit short.
func citizensCSV() []byte {
	var b strings.Builder
	b.WriteString("姓名,公民身份号码,手机号码,出生日期\n")
	for _, c := range citizens {
		fmt.Fprintf(&b, "%s,%s,%s,%s\n", c.name, c.id, c.mobile, c.birth)
	}
	return []byte(b.String())
}

// truncatedCSV ends inside a quoted field, as an interrupted upload does.
func truncatedCSV() []byte {
	full := "统一社会信用代码,企业名称,法定代表人\n" +
		enterprises[0].code + ",宁波海曙甬江贸易有限公司,王建国\n" +
		enterprises[1].code + `,"宁波鄞州""东钱湖""文旅发展有限公司",陈丽华` + "\n" +
		enterprises[3].code + `,"宁波北仑港通物流股份有限公司, 集装箱分公司",赵磊` + "\n"
	cut := strings.LastIndex(full, "集装箱")
	return []byte(full[:cut])
}

// truncatedXLSX is title.xlsx cut to its first 60%.
func truncatedXLSX() []byte {
	b := titleXLSX()
	return b[:len(b)*6/10]
}

var testdataFiles = map[string]func() []byte{
	"gb18030.csv":        gb18030CSV,
	"utf8bom.csv":        bomCSV,
	"title.xlsx":         titleXLSX,
	"enterprises.ndjson": ndjsonFile,
	"enterprises.json":   jsonFile,
	"citizens.csv":       citizensCSV,
	"truncated.csv":      truncatedCSV,
	"truncated.xlsx":     truncatedXLSX,
}

// TestTestdata checks that testdata/ holds what the generators make, or
// rewrites it with -update.
func TestTestdata(t *testing.T) {
	for name, gen := range testdataFiles {
		path := filepath.Join("testdata", name)
		want := gen()
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test ./tabular -run TestTestdata -update writes it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what its generator makes: run go test ./tabular -run TestTestdata -update", path)
		}
	}
}

func readTestdataFile(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", name))
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := readTestdataFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func mustFloat(s string) float64 {
	var f float64
	if _, err := fmt.Sscan(s, &f); err != nil {
		panic(err)
	}
	return f
}

func mustTime(layout, s string) time.Time {
	t, err := time.ParseInLocation(layout, s, time.UTC)
	if err != nil {
		panic(err)
	}
	return t
}

func mustInt(s string) int {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		panic(err)
	}
	return n
}
