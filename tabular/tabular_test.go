package tabular

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/cityhub/cityhub"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

// enterpriseRow is what a file with the given columns (item codes) holds
// for an enterprise.
func enterpriseRow(e enterprise, codes ...string) []string {
	var out []string
	for _, c := range codes {
		out = append(out, map[string]string{
			"credit_code": e.code, "name": e.name, "legal_rep": e.rep, "reg_capital": e.capital,
			"established": e.established, "employees": e.employees, "postcode": e.postcode, "updated_at": e.updated,
		}[c])
	}
	return out
}

func TestTestdataFiles(t *testing.T) {
	all := []string{"credit_code", "name", "legal_rep", "reg_capital", "established", "employees", "postcode"}
	tests := []struct {
		file      string
		opts      Options
		header    []string
		headerRow int
		lines     []int
		codes     []string // the columns, as item codes ("" for none)
		rows      []enterprise
	}{
		{
			file:      "gb18030.csv",
			header:    []string{"统一社会信用代码", "企业名称", "法定代表人", "注册资本(万元)", "成立日期", "从业人数", "邮政编码"},
			headerRow: 2, lines: []int{3, 4, 5, 7, 8}, codes: all, rows: enterprises,
		},
		{
			file:      "utf8bom.csv",
			header:    []string{"No.", "Credit Code", "NAME", "Reg Capital", "established", "legal_rep"},
			headerRow: 1, lines: []int{2, 3, 4}, codes: []string{"", "credit_code", "name", "reg_capital", "established", "legal_rep"},
			rows: enterprises[:3],
		},
		{
			file:      "title.xlsx",
			header:    []string{"统一社会信用代码", "企业名称", "法定代表人", "注册资本（万元）", "成立日期", "从业人数", "邮政编码", "更新时间"},
			headerRow: 2, lines: []int{3, 4, 5, 6, 7}, codes: append(slices.Clone(all), "updated_at"), rows: enterprises,
		},
		{
			file:   "enterprises.ndjson",
			header: []string{"credit_code", "name", "legal_rep", "reg_capital", "established", "employees", "listed", "postcode"},
			lines:  []int{1, 2, 3, 4, 5}, codes: []string{"credit_code", "name", "legal_rep", "reg_capital", "established", "employees", "listed", "postcode"},
			rows: enterprises,
		},
		{
			file:   "enterprises.json",
			header: []string{"credit_code", "name", "legal_rep", "reg_capital", "established", "employees", "listed", "postcode"},
			lines:  []int{1, 2, 3, 4, 5}, codes: []string{"credit_code", "name", "legal_rep", "reg_capital", "established", "employees", "listed", "postcode"},
			rows: enterprises,
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			tt.opts.Items = enterpriseItems
			data := readTestdata(t, tt.file)
			if tt.opts.Format == "" {
				f, err := DetectFormat(tt.file, "", data[:min(len(data), 512)])
				if err != nil {
					t.Fatal(err)
				}
				tt.opts.Format = f
			}
			res := readAll(t, data, tt.opts)
			if res.err != nil {
				t.Fatal(res.err)
			}
			if !slices.Equal(res.header, tt.header) {
				t.Errorf("header = %q, want %q", res.header, tt.header)
			}
			if res.headerRow != tt.headerRow {
				t.Errorf("header row = %d, want %d", res.headerRow, tt.headerRow)
			}
			if !slices.Equal(res.lines, tt.lines) {
				t.Errorf("lines = %v, want %v", res.lines, tt.lines)
			}
			if len(res.rows) != len(tt.rows) {
				t.Fatalf("got %d rows, want %d", len(res.rows), len(tt.rows))
			}
			for i, e := range tt.rows {
				want := enterpriseRow(e, tt.codes...)
				if tt.file == "utf8bom.csv" {
					want[0] = fmt.Sprint(i + 1)
					if i == 1 {
						want[2] = strings.Replace(want[2], "文旅", "\n文旅", 1)
					}
				}
				if strings.HasSuffix(tt.file, "json") {
					want[6] = fmt.Sprint(i == 3)
					if i == 0 {
						want[7] = ""
					}
				}
				if !slices.Equal(res.rows[i], want) {
					t.Errorf("row %d = %q\nwant   %q", i, res.rows[i], want)
				}
			}
			if len(res.problems) > 0 {
				t.Errorf("problems: %v", res.problems)
			}
			mp, problems := Map(res.header, enterpriseItems, nil)
			for _, p := range problems {
				if p.Fatal {
					t.Errorf("mapping problem %v", p)
				}
			}
			for c, code := range tt.codes {
				want := slices.IndexFunc(enterpriseItems, func(it cityhub.DataItem) bool { return it.Code == code })
				if mp.Columns[c] != want {
					t.Errorf("column %q maps to %d, want %d", res.header[c], mp.Columns[c], want)
				}
			}
		})
	}
}

func TestCitizensFile(t *testing.T) {
	res := readAll(t, readTestdata(t, "citizens.csv"), Options{})
	if res.err != nil {
		t.Fatal(res.err)
	}
	if want := []string{"姓名", "公民身份号码", "手机号码", "出生日期"}; !slices.Equal(res.header, want) {
		t.Errorf("header = %q, want %q", res.header, want)
	}
	for i, c := range citizens {
		want := []string{c.name, c.id, c.mobile, c.birth}
		if !slices.Equal(res.rows[i], want) || res.lines[i] != i+2 {
			t.Errorf("line %d = %q, want line %d %q", res.lines[i], res.rows[i], i+2, want)
		}
		if c.badID == checkOK(c.id) {
			t.Errorf("%s: the check character is right: %v, want %v", c.id, checkOK(c.id), !c.badID)
		}
	}
}

func checkOK(id string) bool {
	return citizenID(id[:17], false) == id
}

func TestEncodings(t *testing.T) {
	const text = "名称,金额\n宁波市,1\n“引号”,2\n"
	gb, _ := simplifiedchinese.GB18030.NewEncoder().String(text)
	utf16, _ := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String(strings.ReplaceAll(text, ",", "\t"))
	asciiFirst := strings.Repeat("a,b\n", 40<<10) // 160 KiB of ASCII before the first Chinese
	gbLate, _ := simplifiedchinese.GB18030.NewEncoder().String(asciiFirst + "宁波,海曙\n")
	want := [][]string{{"宁波市", "1"}, {"“引号”", "2"}}
	tests := []struct {
		name     string
		data     string
		encoding string
		want     [][]string
	}{
		{"utf-8", text, "", want},
		{"utf-8 BOM", "\uFEFF" + text, "", want},
		{"utf-8 BOM declared", "\uFEFF" + text, "UTF-8", want},
		{"gb18030 detected", gb, "", want},
		{"gbk declared", gb, "GBK", want},
		{"gb18030 declared", gb, "gb18030", want},
		{"utf-16 BOM", utf16, "", want},
		{"utf-16 declared", utf16, "utf-16", want},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := readAll(t, []byte(tt.data), Options{Format: CSV, Encoding: tt.encoding})
			if res.err != nil {
				t.Fatal(res.err)
			}
			if !slices.EqualFunc(res.rows, tt.want, slices.Equal) {
				t.Errorf("rows = %q, want %q", res.rows, tt.want)
			}
		})
	}

	t.Run("gb18030 after 160 KiB of ASCII", func(t *testing.T) {
		res := readAll(t, []byte(gbLate), Options{Format: CSV})
		if res.err != nil {
			t.Fatal(res.err)
		}
		if last := res.rows[len(res.rows)-1]; !slices.Equal(last, []string{"宁波", "海曙"}) {
			t.Errorf("last row = %q", last)
		}
	})
	t.Run("gb18030 declared as utf-8", func(t *testing.T) {
		res := readAll(t, []byte(gb), Options{Format: CSV, Encoding: "utf-8"})
		var pe *ParseError
		if !errors.As(res.err, &pe) || pe.Line != 1 || !strings.Contains(pe.Reason, "UTF-8") {
			t.Fatalf("err = %v, want a ParseError on line 1 about UTF-8", res.err)
		}
	})
	t.Run("damaged utf-8", func(t *testing.T) {
		// Mostly UTF-8 with one bad byte: read as UTF-8, the bad line an error.
		data := strings.Repeat("宁波市海曙区,1\n", 20) + "坏\xff,2\n"
		res := readAll(t, []byte(data), Options{Format: CSV})
		var pe *ParseError
		if !errors.As(res.err, &pe) || pe.Line != 21 || len(res.rows) != 19 {
			t.Fatalf("err = %v after %d rows, want a ParseError on line 21 after 19 rows (the first line is the header)", res.err, len(res.rows))
		}
	})
	t.Run("unknown encoding", func(t *testing.T) {
		_, err := Open(strings.NewReader(text), -1, Options{Format: CSV, Encoding: "big5"})
		if cityhub.ErrorCode(err) != cityhub.EINVALID {
			t.Errorf("err = %v, want EINVALID", err)
		}
	})
}

func TestHeaderDetection(t *testing.T) {
	items := []cityhub.DataItem{{Name: "姓名", Code: "name"}, {Name: "年龄", Code: "age"}, {Name: "地址", Code: "address"}}
	tests := []struct {
		name      string
		data      string
		opts      Options
		headerRow int
		header    []string
		first     []string
	}{
		{"first row", "姓名,年龄\n张三,30\n", Options{Items: items}, 1, []string{"姓名", "年龄"}, []string{"张三", "30"}},
		{"title row", "人员名单,,\n姓名,年龄,地址\n张三,30,海曙\n", Options{Items: items}, 2, []string{"姓名", "年龄", "地址"}, []string{"张三", "30", "海曙"}},
		{"title and note rows", "人员名单\n制表单位：某局,制表日期：2026-01-01\n\nNAME,Age\n张三,30\n", Options{Items: items}, 4, []string{"NAME", "Age"}, []string{"张三", "30"}},
		{"no items: first row with two cells", "人员名单,,\n\n名字,岁数\n张三,30\n", Options{}, 3, []string{"名字", "岁数"}, []string{"张三", "30"}},
		{"no items, one column", "名单\n张三\n", Options{}, 1, []string{"名单"}, []string{"张三"}},
		{"one item", "名单\n姓名\n张三\n", Options{Items: items[:1]}, 2, []string{"姓名"}, []string{"张三"}},
		{"explicit", "姓名,年龄\n说明,文字\n张三,30\n", Options{HeaderRow: 2, Items: items}, 2, []string{"说明", "文字"}, []string{"张三", "30"}},
		{"trailing empty header cells", "姓名,年龄,,\n张三,30,,\n", Options{}, 1, []string{"姓名", "年龄"}, []string{"张三", "30"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Format = CSV
			res := readAll(t, []byte(tt.data), tt.opts)
			if res.err != nil {
				t.Fatal(res.err)
			}
			if res.headerRow != tt.headerRow || !slices.Equal(res.header, tt.header) {
				t.Errorf("header row %d %q, want %d %q", res.headerRow, res.header, tt.headerRow, tt.header)
			}
			if len(res.rows) == 0 || !slices.Equal(res.rows[0], tt.first) {
				t.Errorf("rows = %q, want first %q", res.rows, tt.first)
			}
		})
	}
	for _, tt := range []struct {
		name string
		data string
		opts Options
	}{
		{"empty file", "", Options{}},
		{"blank lines only", "\n\n,,\n", Options{}},
		{"explicit row past the end", "a,b\n1,2\n", Options{HeaderRow: 5}},
		{"explicit row blank", "a,b\n,\n1,2\n", Options{HeaderRow: 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Format = CSV
			res := readAll(t, []byte(tt.data), tt.opts)
			var pe *ParseError
			if !errors.As(res.err, &pe) {
				t.Errorf("err = %v, want a ParseError", res.err)
			}
		})
	}
}

func TestCSVRows(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		opts     Options
		lines    []int
		rows     [][]string
		problems []Problem
	}{
		{
			name:  "rows as a spreadsheet counts them",
			data:  "a,b\n1,\"x\ny\"\n\n2,z\r\n\"3\",\"p\r\nq\r\nr\"\n4,w",
			lines: []int{2, 4, 5, 6},
			rows:  [][]string{{"1", "x\ny"}, {"2", "z"}, {"3", "p\nq\nr"}, {"4", "w"}},
		},
		{
			name:     "short and long rows",
			data:     "a,b,c\n1\n1,2,3,,\n1,2,3,4,5\n",
			lines:    []int{2, 3, 4},
			rows:     [][]string{{"1", "", ""}, {"1", "2", "3"}, {"1", "2", "3"}},
			problems: []Problem{{Row: 4, Kind: KindExtraValues, Reason: "2 values beyond the 3 columns of the header are ignored", Fatal: true}},
		},
		{
			name:  "tab detected",
			data:  "a\tb\n1,5\t2\n",
			lines: []int{2},
			rows:  [][]string{{"1,5", "2"}},
		},
		{
			name:  "TSV",
			data:  "a\tb,c\n1\t2\n",
			opts:  Options{Format: TSV},
			lines: []int{2},
			rows:  [][]string{{"1", "2"}},
		},
		{
			name:  "semicolon",
			data:  "a;b\n1;2\n",
			opts:  Options{Delimiter: ';'},
			lines: []int{2},
			rows:  [][]string{{"1", "2"}},
		},
		{
			name:  "blank rows skipped, spaces kept",
			data:  "a,b\n,\n , \n x ,y\n",
			lines: []int{4},
			rows:  [][]string{{" x ", "y"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.Format == "" {
				tt.opts.Format = CSV
			}
			res := readAll(t, []byte(tt.data), tt.opts)
			if res.err != nil {
				t.Fatal(res.err)
			}
			if !slices.Equal(res.lines, tt.lines) {
				t.Errorf("lines = %v, want %v", res.lines, tt.lines)
			}
			if !slices.EqualFunc(res.rows, tt.rows, slices.Equal) {
				t.Errorf("rows = %q, want %q", res.rows, tt.rows)
			}
			if !slices.Equal(res.problems, tt.problems) {
				t.Errorf("problems = %v, want %v", res.problems, tt.problems)
			}
		})
	}
}

func TestMalformedCSV(t *testing.T) {
	tests := []struct {
		name      string
		data      string
		line, col int
		err       error
	}{
		{"bare quote", "a,b\n1,2\n3,x\"y\n", 3, 4, csv.ErrBareQuote},
		{"text after closing quote", "a,b\n1,2\n3,4\n5,\"x\"y,6\n", 4, 5, csv.ErrQuote},
		{"unclosed quote at the end", "a,b\n1,2\n3,\"x\n4,5\n", 3, 0, ErrTruncated},
		{"quote on a later line", "a,b\n1,\"x\ny\"z\n", 3, 2, csv.ErrQuote},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Past the rows that header detection reads ahead, and within them.
			for _, pad := range []int{0, 50} {
				data := tt.data
				if pad > 0 {
					i := strings.IndexByte(data, '\n') + 1
					data = data[:i] + strings.Repeat("0,0\n", pad) + data[i:]
				}
				res := readAll(t, []byte(data), Options{Format: CSV})
				var pe *ParseError
				if !errors.As(res.err, &pe) {
					t.Fatalf("err = %v, want a ParseError", res.err)
				}
				if pe.Line != tt.line+pad || pe.Column != tt.col || !errors.Is(res.err, tt.err) {
					t.Errorf("pad %d: line %d, column %d, %v; want line %d, column %d, %v", pad, pe.Line, pe.Column, pe, tt.line+pad, tt.col, tt.err)
				}
				if cityhub.ErrorCode(res.err) != cityhub.EINVALID || !strings.Contains(cityhub.ErrorMessage(res.err), fmt.Sprintf("line %d", tt.line+pad)) {
					t.Errorf("code %s, message %q", cityhub.ErrorCode(res.err), cityhub.ErrorMessage(res.err))
				}
				if pad > 0 && len(res.rows) < pad {
					t.Errorf("%d rows before the error, want at least %d", len(res.rows), pad)
				}
			}
		})
	}
}

func TestErrorsStick(t *testing.T) {
	data := "a,b\n" + strings.Repeat("1,2\n", 100) + "3,x\"y\n5,6\n"
	r, err := Open(strings.NewReader(data), -1, Options{Format: CSV})
	if err != nil {
		t.Fatal(err)
	}
	var first error
	for range 103 {
		if _, err := r.Next(); err != nil {
			first = err
			break
		}
	}
	if _, err := r.Next(); err == nil || err != first {
		t.Errorf("after %v, Next = %v, want the same error", first, err)
	}
}

func TestTruncated(t *testing.T) {
	cut := func(b []byte, n int) []byte { return b[:len(b)-n] }
	ndjson := readTestdata(t, "enterprises.ndjson")
	jsonData := readTestdata(t, "enterprises.json")
	citizensData := readTestdata(t, "citizens.csv")
	tests := []struct {
		name   string
		data   []byte
		size   int64
		format Format
	}{
		{"truncated.csv", readTestdata(t, "truncated.csv"), -1, CSV},
		{"truncated.xlsx", readTestdata(t, "truncated.xlsx"), -1, XLSX},
		{"xlsx missing its last byte", cut(readTestdata(t, "title.xlsx"), 1), -1, XLSX},
		{"ndjson cut inside the last line", cut(ndjson, 10), -1, NDJSON},
		{"json cut inside an element", cut(jsonData, 30), -1, JSON},
		{"json cut before the closing bracket", cut(jsonData, 3), -1, JSON},
		{"csv shorter than its size", cut(citizensData, 20), int64(len(citizensData)), CSV},
		{"csv cut at a line end, shorter than its size", citizensData[:bytes.LastIndexByte(cut(citizensData, 1), '\n')+1], int64(len(citizensData)), CSV},
		{"xlsx shorter than its size", cut(readTestdata(t, "title.xlsx"), 100), int64(len(readTestdata(t, "title.xlsx"))), XLSX},
		{"ndjson shorter than its size", cut(ndjson, 1), int64(len(ndjson)), NDJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res result
			r, err := Open(bytes.NewReader(tt.data), tt.size, Options{Format: tt.format})
			if err == nil {
				for {
					if _, err = r.Next(); err != nil {
						break
					}
				}
				r.Close()
			}
			res.err = err
			var pe *ParseError
			if !errors.Is(res.err, ErrTruncated) || !errors.As(res.err, &pe) || cityhub.ErrorCode(res.err) != cityhub.EINVALID {
				t.Fatalf("err = %v, want a ParseError wrapping ErrTruncated", res.err)
			}
			t.Log(res.err)
		})
	}
	t.Run("longer than its size", func(t *testing.T) {
		res := readAll(t, citizensData, Options{})
		r, err := Open(bytes.NewReader(citizensData), int64(len(citizensData)-5), Options{Format: CSV})
		if err == nil {
			for err == nil {
				_, err = r.Next()
			}
		}
		var pe *ParseError
		if res.err != nil || !errors.As(err, &pe) || errors.Is(err, ErrTruncated) {
			t.Errorf("err = %v, want a ParseError that is not ErrTruncated", err)
		}
	})
}

func TestRecordTooLong(t *testing.T) {
	// An unclosed quote early in a big file must not pull it all into memory.
	data := "a,b\n1,\"never closed\n" + strings.Repeat("2,3\n", 1<<20)
	res := readAll(t, []byte(data), Options{Format: CSV, MaxRecordBytes: 64 << 10})
	var pe *ParseError
	if !errors.As(res.err, &pe) || pe.Line != 2 || !strings.Contains(pe.Reason, "longer than") {
		t.Fatalf("err = %v, want a ParseError for line 2 about its length", res.err)
	}
	long := "{\"a\":\"" + strings.Repeat("x", 100<<10) + "\"}\n"
	for _, f := range []Format{NDJSON, JSON} {
		data := "{\"a\":1}\n" + long
		if f == JSON {
			data = "[{\"a\":1}," + strings.TrimSpace(long) + "]"
		}
		res := readAll(t, []byte(data), Options{Format: f, MaxRecordBytes: 32 << 10})
		if !errors.As(res.err, &pe) || pe.Line != 2 || !strings.Contains(pe.Reason, "longer than") {
			t.Errorf("%s: err = %v, want a ParseError for line 2 about its length", f, res.err)
		}
	}
}

// failingReader returns data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestReaderErrorsPassThrough(t *testing.T) {
	boom := errors.New("connection reset")
	big := "a,b\n" + strings.Repeat("1,\"2\"\n", 100<<10)
	objects := strings.Repeat("{\"a\":1}\n", 100<<10)
	for _, tt := range []struct {
		format Format
		data   string
	}{{CSV, big}, {NDJSON, objects}, {JSON, "[" + strings.ReplaceAll(strings.TrimSpace(objects), "\n", ",")}, {XLSX, "PK\x03\x04" + big}} {
		t.Run(string(tt.format), func(t *testing.T) {
			r, err := Open(&failingReader{[]byte(tt.data), boom}, -1, Options{Format: tt.format})
			for err == nil {
				_, err = r.Next()
			}
			if err != boom {
				t.Errorf("err = %v, want the reader's error as is", err)
			}
		})
	}
}

func TestBytesRead(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,name,amount\n")
	for i := range 200_000 {
		fmt.Fprintf(&b, "%d,名称%d,%d.5\n", i, i, i)
	}
	data := []byte(b.String())
	for _, tt := range []struct {
		name string
		r    io.Reader
	}{{"whole reads", bytes.NewReader(data)}, {"short reads", iotest.HalfReader(bytes.NewReader(data))}} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Open(tt.r, int64(len(data)), Options{Format: CSV})
			if err != nil {
				t.Fatal(err)
			}
			// A progress display polls from another goroutine.
			stop := make(chan struct{})
			polled := make(chan int64)
			go func() {
				var n int64
				for {
					select {
					case <-stop:
						polled <- n
						return
					default:
						n = max(n, r.BytesRead())
					}
				}
			}()
			defer func() {
				close(stop)
				if n := <-polled; n > int64(len(data)) {
					t.Errorf("polled BytesRead %d of %d bytes", n, len(data))
				}
			}()
			var last int64
			rows := 0
			for {
				_, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				rows++
				n := r.BytesRead()
				if n < last {
					t.Fatalf("BytesRead went back from %d to %d", last, n)
				}
				if rows == 1000 && n > 4*bufSize {
					t.Errorf("after 1000 rows BytesRead = %d: the reader runs far ahead", n)
				}
				last = n
			}
			if rows != 200_000 || r.BytesRead() != int64(len(data)) {
				t.Errorf("%d rows, BytesRead %d; want 200000 and %d", rows, r.BytesRead(), len(data))
			}
		})
	}
}

func TestOpenDetects(t *testing.T) {
	for _, tt := range []struct {
		file   string
		format Format
	}{
		{"gb18030.csv", CSV}, {"utf8bom.csv", CSV}, {"title.xlsx", XLSX}, {"enterprises.json", JSON}, {"enterprises.ndjson", NDJSON},
	} {
		res := readAll(t, readTestdata(t, tt.file), Options{})
		if res.err != nil || len(res.rows) == 0 {
			t.Errorf("%s: %d rows, %v", tt.file, len(res.rows), res.err)
		}
	}
}
