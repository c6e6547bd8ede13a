package web_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/cityhub/cityhub"
	"github.com/cityhub/cityhub/ingest"
	"github.com/cityhub/cityhub/internal/browsertest"
)

// TestBrowserDevices walks the IoT pages in a real browser: the device
// list and its filters, a device page whose ECharts chart draws from
// series.json (and redraws for another range and property), the form that
// adds a device and shows its token once, and the page in English, failing
// on any JavaScript exception, console error or refused script or style.
func TestBrowserDevices(t *testing.T) {
	browsertest.Require(t)
	s := newIoTStack(t)
	s.user("admin", nil, cityhub.RolePlatformAdmin)
	aq, _ := s.device("aq-haishu-001", "AirQualityObserved", s.district)
	s.device("aq-haishu-002", "AirQualityObserved", s.district)
	s.device("noise-city-001", "NoiseLevelObserved", s.city)
	// A day of PM2.5 every minute, and PM10 every ten minutes offset by 30 s.
	now := time.Now().Truncate(time.Second)
	s.readingsUntil(aq, now, "pm25", 24*60, time.Minute, func(i int) float64 {
		return 40 + 15*math.Sin(float64(i)/90)
	})
	s.readingsUntil(aq, now.Add(-30*time.Second), "pm10", 6*24, 10*time.Minute, func(i int) float64 { return 60 + float64(i%7) })
	if _, err := s.pipe.SubmitWait(context.Background(), aq, "mqtt", []ingest.Sample{{Values: map[string]any{"pm25": -3.0}}}); err != nil {
		t.Fatal(err)
	}

	b := browsertest.Start(t, 90*time.Second, "")
	base := s.srv.URL
	b.Step("sign in",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("username"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("home")),
	)
	b.Step("devices", chromedp.Click(chromedp.CSS(`.nav a[href="/devices"]`)), chromedp.WaitVisible(chromedp.ID("devices-table")))
	b.WantText("devices", "#devices-total", "共 3 条")
	b.WantText("devices", "#devices-table", "aq-haishu-001")
	b.WantText("devices", "#devices-table", "在线")
	b.WantText("devices", "#devices-table", "µg/m³")
	b.WantText("devices", `#type-counts a[data-type="AirQualityObserved"]`, "空气质量监测站")
	b.WantText("devices", `#type-counts a[data-type="AirQualityObserved"] .count`, "2")
	b.Snap("devices")
	b.Step("devices by type",
		chromedp.Click(chromedp.CSS(`#type-counts a[data-type="NoiseLevelObserved"]`)),
		chromedp.WaitVisible(chromedp.ID("devices-clear")),
	)
	b.WantText("devices by type", "#devices-total", "共 1 条")
	b.WantText("devices by type", "#devices-table", "noise-city-001")

	// The device page draws its chart from series.json.
	b.Step("device",
		chromedp.Navigate(base+"/devices"),
		chromedp.WaitVisible(chromedp.ID("devices-table")),
		chromedp.Click(chromedp.CSS(`a[href="/devices/`+id(aq.ID)+`"]`)),
		chromedp.WaitVisible(chromedp.ID("device-metadata")),
	)
	b.StepWithin(20*time.Second, "chart draws",
		chromedp.WaitVisible(chromedp.CSS("#device-chart canvas")),
		chromedp.WaitVisible(chromedp.CSS("#device-chart[data-points]")),
	)
	b.WantText("chart draws", "#chart-status", "PM2.5：")
	b.WantText("chart draws", "#chart-status", "个数据点（每分钟平均）")
	b.WantText("device", "#latest-table", "PM2.5")
	b.WantText("device", "#rejections-table", "数值无效")
	b.WantText("device", "#device-division", "330203 海曙区")
	if got := chartPoints(t, b); got < 1439 { // a day of minutes, one perhaps cut off by the clock
		t.Errorf("the chart holds %d points, want a day of minutes", got)
	}
	if !canvasDrawn(t, b) {
		t.Error("the chart's canvas is blank")
	}
	display, err := chromedp.Run(b.Ctx, chromedp.Evaluate[string](`getComputedStyle(document.getElementById("chart-submit")).display`))
	if err != nil {
		t.Fatal(err)
	}
	if display != "none" {
		t.Errorf("the chart form's button shows with JavaScript on (display %q)", display)
	}
	b.Snap("device")

	b.Step("chart 1h",
		chromedp.SetValue(chromedp.ID("chart-range"), "1h"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("chart-form").dispatchEvent(new Event("change", {bubbles: true}))`),
	)
	b.StepWithin(10*time.Second, "chart 1h draws", chromedp.WaitVisible(chromedp.CSS("#device-chart[data-points]")))
	b.WantText("chart 1h", "#chart-status", "原始数据")
	b.Step("chart pm10 7d",
		chromedp.SetValue(chromedp.ID("chart-key"), "pm10"),
		chromedp.SetValue(chromedp.ID("chart-range"), "7d"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("chart-form").dispatchEvent(new Event("change", {bubbles: true}))`),
	)
	b.StepWithin(10*time.Second, "chart pm10 draws", chromedp.WaitVisible(chromedp.CSS("#device-chart[data-points]")))
	b.WantText("chart pm10", "#chart-status", "PM10")
	b.WantText("chart pm10", "#chart-status", "每小时平均")
	link, err := chromedp.Run(b.Ctx, chromedp.AttributeValue(chromedp.ID("series-csv"), "href"))
	if err != nil {
		t.Fatal(err)
	}
	if href := link.Value; !strings.HasSuffix(href, "/series.csv?key=pm10&range=7d") {
		t.Errorf("CSV link %q does not follow the chart", href)
	}
	loc, err := chromedp.Run(b.Ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(loc, "?key=pm10&range=7d") {
		t.Errorf("page address %q does not keep the chart's choice", loc)
	}
	b.Snap("device-pm10")

	// Adding a device shows its token once, with the copy button.
	b.Step("new device",
		chromedp.Navigate(base+"/devices/new"),
		chromedp.WaitVisible(chromedp.ID("device-form")),
		chromedp.SendKeys(chromedp.ID("name"), "wq-yaojiang-01"),
		chromedp.SetValue(chromedp.ID("type"), "WaterQualityObserved"),
		chromedp.SetValue(chromedp.ID("department_id"), id(s.district.ID)),
		chromedp.SendKeys(chromedp.ID("lon"), "121.5801"),
		chromedp.SendKeys(chromedp.ID("lat"), "29.8855"),
		chromedp.Click(chromedp.ID("device-submit")),
		chromedp.WaitVisible(chromedp.ID("device-token")),
		chromedp.WaitVisible(chromedp.CSS(`button[data-copy="device-token"]`)),
	)
	token := b.Text("token", "#device-token")
	if _, err := s.store.DeviceByToken(context.Background(), token); err != nil {
		t.Errorf("the token shown does not sign in: %v", err)
	}
	b.WantText("token", "#mqtt-topic", "v1/devices/me/telemetry")
	b.WantText("token", "#curl-command", "/api/v1/"+token+"/telemetry")
	b.Snap("device-token")
	b.Step("new device page",
		chromedp.Click(chromedp.ID("to-device")),
		chromedp.WaitVisible(chromedp.ID("device-metadata")),
	)
	b.WantText("new device page", "#device-state", "从未上报")
	b.StepWithin(10*time.Second, "empty chart", chromedp.WaitVisible(chromedp.CSS("#device-chart[data-points]")))
	b.WantText("empty chart", "#chart-status", "该时间范围内没有数据")

	// Provisioning from a file: the new devices' tokens download as CSV.
	files := t.TempDir()
	csvPath := filepath.Join(files, "设备清单.csv")
	content := "name,type,department,division,lon,lat\n" +
		"lamp-haishu-001,Streetlight,海曙数据,330203,121.551,29.871\n" +
		"lamp-haishu-002,智慧路灯,海曙区大数据中心,,121.552,29.872\n"
	if err := os.WriteFile(csvPath, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(b.Ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	b.Step("import form",
		chromedp.Navigate(base+"/devices"),
		chromedp.Click(chromedp.ID("devices-import")),
		chromedp.WaitVisible(chromedp.ID("device-import-form")),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{csvPath}),
		chromedp.Click(chromedp.ID("import-submit")),
		chromedp.WaitVisible(chromedp.ID("import-tokens-download")),
	)
	b.WantText("import", "#import-outcome", "导入完成：已创建 2 台设备")
	b.WantText("import", "#import-created", "lamp-haishu-002")
	b.Snap("device-import")
	b.Step("download tokens", chromedp.Click(chromedp.ID("import-tokens-download")))
	var saved []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if data, err := os.ReadFile(filepath.Join(downloads, "device-tokens.csv")); err == nil && len(data) > 0 {
			saved = data
			break
		}
	}
	if saved == nil {
		t.Fatal("the tokens CSV was not downloaded")
	}
	rows := readCSV(t, string(saved))
	if len(rows) != 3 || rows[1][1] != "lamp-haishu-001" {
		t.Fatalf("downloaded tokens %v", rows)
	}
	if d, err := s.store.DeviceByToken(context.Background(), rows[2][5]); err != nil || d.Name != "lamp-haishu-002" {
		t.Errorf("downloaded token of lamp-haishu-002: %+v, %v", d, err)
	}

	b.Step("english",
		chromedp.Navigate(base+"/devices/"+id(aq.ID)+"?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #device-metadata`)),
	)
	b.StepWithin(10*time.Second, "english chart", chromedp.WaitVisible(chromedp.CSS("#device-chart[data-points]")))
	b.WantText("english", "#chart-status", "1-minute averages")
	b.WantText("english", "#device-type", "Air quality station")
	b.Snap("device-en")

	if b.ShotDir != "" {
		b.Step("phone",
			chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
			chromedp.Navigate(base+"/devices?lang=zh"),
			chromedp.WaitVisible(chromedp.ID("devices-table")),
		)
		b.Snap("devices-phone")
		b.Step("phone device", chromedp.Navigate(base+"/devices/"+id(aq.ID)), chromedp.WaitVisible(chromedp.CSS("#device-chart[data-points]")))
		b.Snap("device-phone")
		b.Step("phone import", chromedp.Navigate(base+"/devices/import"), chromedp.WaitVisible(chromedp.ID("device-import-form")))
		b.Snap("device-import-phone")
	}
	s.noErrorLogs()
}

// chartPoints asks ECharts how many points its series holds.
func chartPoints(t *testing.T, b *browsertest.Browser) int {
	t.Helper()
	n, err := chromedp.Run(b.Ctx, chromedp.Evaluate[int](
		`echarts.getInstanceByDom(document.getElementById("device-chart")).getOption().series[0].data.length`))
	if err != nil {
		t.Fatalf("chart points: %v", err)
	}
	return n
}

// canvasDrawn says whether the chart's canvas has pixels of the line's
// colour.
func canvasDrawn(t *testing.T, b *browsertest.Browser) bool {
	t.Helper()
	drawn, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](`(function () {
		var c = document.querySelector("#device-chart canvas");
		var d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		for (var i = 0; i < d.length; i += 4) {
			if (d[i+3] > 0 && d[i+2] > 150 && d[i] < 100) { return true; } // blue: the line
		}
		return false;
	})()`))
	if err != nil {
		t.Fatalf("read canvas: %v", err)
	}
	return drawn
}
