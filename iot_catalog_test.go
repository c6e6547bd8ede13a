package cityhub_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cityhub/cityhub"
)

func TestDeviceTypeEntry(t *testing.T) {
	u, c, n := cityhub.Unconditional, cityhub.Conditional, cityhub.NotShared
	// Every known type, with the entry it should get.
	want := map[string]struct {
		name, class, domain, share, open string
	}{
		"AirQualityObserved":        {"空气质量监测实时数据", "211", "environment", u, c},
		"WaterQualityObserved":      {"水质监测实时数据", "211", "environment", u, c},
		"TrafficFlowObserved":       {"道路交通流量实时数据", "209", "traffic", u, c},
		"NoiseLevelObserved":        {"环境噪声监测实时数据", "211", "environment", u, c},
		"WeatherObserved":           {"气象观测实时数据", "211", "weather", u, c},
		"OffStreetParking":          {"停车场泊位实时数据", "209", "traffic", u, c},
		"Streetlight":               {"智慧路灯运行实时数据", "209", "urban", u, c},
		"TunnelGasObserved":         {"综合管廊气体监测实时数据", "209", "", c, n},
		"TunnelWaterLevelObserved":  {"综合管廊水位监测实时数据", "209", "", c, n},
		"TunnelEnvironmentObserved": {"综合管廊温湿度监测实时数据", "209", "", c, n},
	}
	types := cityhub.DeviceTypes()
	if len(types) != len(want) {
		t.Errorf("device types: got %d, want %d: a new type needs its entry's name and policy here", len(types), len(want))
	}
	names := map[string]bool{}
	for _, dt := range types {
		t.Run(dt.Name, func(t *testing.T) {
			w, ok := want[dt.Name]
			if !ok {
				t.Fatalf("no expected entry for %s", dt.Name)
			}
			e := cityhub.DeviceTypeEntry(&dt, 42)
			if err := e.Validate(cityhub.IsBaseClassification(e.ClassificationCode)); err != nil {
				t.Fatalf("validate: %v", err)
			}
			got := struct{ name, class, domain, share, open string }{e.Name, e.ClassificationCode, e.Domain, e.ShareType, e.OpenType}
			if got != w {
				t.Errorf("entry: got %+v, want %+v", got, w)
			}
			if names[e.Name] {
				t.Errorf("name %q is used by another type", e.Name)
			}
			names[e.Name] = true
			if e.ProviderID != 42 || e.Format != cityhub.FormatStream || e.UpdateCycle != cityhub.CycleRealtime || e.ShareMethod == "" {
				t.Errorf("provider %d, format %q, cycle %q, share method %q; want 42, stream, realtime, a method",
					e.ProviderID, e.Format, e.UpdateCycle, e.ShareMethod)
			}
			tag := cityhub.DeviceTypeTag(dt.Name)
			if !strings.Contains(strings.Join(e.Tags, "|"), tag) || utf8.RuneCountInString(tag) > 30 {
				t.Errorf("tags %q: want %q (at most 30 characters)", e.Tags, tag)
			}
			if !strings.Contains(e.Abstract, dt.Name) {
				t.Errorf("abstract %q does not name the type", e.Abstract)
			}

			// The device and the time, then every property in order.
			if len(e.Items) != len(dt.Properties)+2 {
				t.Fatalf("items: got %d, want %d", len(e.Items), len(dt.Properties)+2)
			}
			for i, code := range []string{cityhub.StreamDeviceItem, cityhub.StreamTimeItem} {
				if it := e.Items[i]; it.Code != code || !it.PrimaryKey || !it.Required {
					t.Errorf("item %d: got %+v, want %s as part of the primary key", i, it, code)
				}
			}
			if e.Items[0].Type != "C" || e.Items[1].Type != "T" {
				t.Errorf("device and time items: types %s, %s; want C, T", e.Items[0].Type, e.Items[1].Type)
			}
			sens := cityhub.SensPublic
			if e.OpenType == cityhub.NotShared {
				sens = cityhub.SensInternal
			}
			for i, p := range dt.Properties {
				it := e.Items[i+2]
				wantType := map[string]string{cityhub.KindNumber: "N", cityhub.KindText: "C", cityhub.KindBool: "L"}[p.Kind]
				if it.Code != p.Name || it.Type != wantType || it.PrimaryKey || it.Sensitivity != sens {
					t.Errorf("item of %s: got %+v, want code %s, type %s, sensitivity %s", p.Name, it, p.Name, wantType, sens)
				}
				if !strings.HasPrefix(it.Name, p.Label) {
					t.Errorf("item of %s: name %q, want the property's label %q first", p.Name, it.Name, p.Label)
				}
				if p.UnitSym != "" && (!strings.HasSuffix(it.Name, "("+p.UnitSym+")") || !strings.Contains(it.Description, p.UnitSym)) {
					t.Errorf("item of %s: name %q, description %q; want the unit %s in both", p.Name, it.Name, it.Description, p.UnitSym)
				}
				if p.Unit != "" && !strings.Contains(it.Description, p.Unit) {
					t.Errorf("item of %s: description %q lacks the unit code %s", p.Name, it.Description, p.Unit)
				}
			}
		})
	}
}

func TestDeviceTypeEntryUnknownType(t *testing.T) {
	lo, hi := 0.0, 1e6
	dt := &cityhub.DeviceType{Name: "BinFillingLevelObserved", Label: "垃圾桶满溢监测", Category: "waste",
		Properties: []cityhub.Property{
			{Name: "fillingLevel", Label: "满溢度", LabelEn: "Filling level", Kind: cityhub.KindNumber, Min: &lo, Max: &hi},
			{Name: "status", Label: "状态", LabelEn: "Status", Kind: cityhub.KindText},
		}}
	e := cityhub.DeviceTypeEntry(dt, 1)
	if err := e.Validate(false); err != nil {
		t.Fatalf("a type without a policy: %v", err)
	}
	if e.Name != "垃圾桶满溢监测实时数据" || e.ClassificationCode != "209" || e.Domain != "urban" {
		t.Errorf("got %q in %s/%s, want the label's name in 209/urban", e.Name, e.ClassificationCode, e.Domain)
	}
	if d := e.Items[2].Description; !strings.Contains(d, "1000000") {
		t.Errorf("range in %q: want plain numbers", d)
	}
}
