package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/cityhub/cityhub"
	paho "github.com/eclipse/paho.mqtt.golang"
)

// A Sensor is a demo device with its access token, ready to simulate.
type Sensor struct {
	Device *cityhub.Device
	Token  string
}

// district centres (lon, lat) of Ningbo's districts and counties.
var districtCentres = []struct {
	code     string
	lon, lat float64
}{
	{"330203", 121.55, 29.87}, {"330205", 121.56, 29.90}, {"330206", 121.84, 29.90}, {"330211", 121.71, 29.95},
	{"330212", 121.55, 29.82}, {"330213", 121.41, 29.66}, {"330225", 121.87, 29.48}, {"330226", 121.43, 29.29},
	{"330281", 121.15, 30.04}, {"330282", 121.27, 30.17},
}

// sensorKinds: which bureau runs which type, and how many per district.
var sensorKinds = []struct{ typ, dept, prefix string }{
	{"AirQualityObserved", "市环保局", "aq"},
	{"WaterQualityObserved", "市水利局", "wq"},
	{"TrafficFlowObserved", "市交通委", "tf"},
	{"NoiseLevelObserved", "市环保局", "noise"},
	{"TunnelGasObserved", "市住建委", "tunnel-gas"},
}

// LoadSensors registers the demo city's sensors (once) and gives each a
// fresh token: tokens are kept only as hashes, and the simulator needs them.
func LoadSensors(ctx context.Context, store cityhub.Store) ([]Sensor, error) {
	deps, _, err := store.Departments(ctx, cityhub.DepartmentFilter{Limit: 1000})
	if err != nil {
		return nil, err
	}
	ids := map[string]int64{}
	for _, d := range deps {
		ids[d.ShortName] = d.ID
	}
	var out []Sensor
	for _, k := range sensorKinds {
		for i, c := range districtCentres {
			name := fmt.Sprintf("%s-%s-%02d", k.prefix, c.code, i+1)
			d, err := store.DeviceByName(ctx, name)
			if cityhub.ErrorCode(err) == cityhub.ENOTFOUND {
				rng := rand.New(rand.NewPCG(uint64(i), uint64(len(k.prefix))))
				d = &cityhub.Device{Name: name, Type: k.typ, DepartmentID: ids[k.dept], Division: c.code,
					Lon: c.lon + (rng.Float64()-0.5)*0.06, Lat: c.lat + (rng.Float64()-0.5)*0.06,
					Attributes: map[string]any{"manufacturer": "宁波示范传感器厂", "simulated": true}}
				if _, err := store.CreateDevice(ctx, d); err != nil {
					return nil, fmt.Errorf("demo sensor %s: %w", name, err)
				}
			} else if err != nil {
				return nil, err
			}
			token, err := store.RotateDeviceToken(ctx, d.ID)
			if err != nil {
				return nil, err
			}
			out = append(out, Sensor{Device: d, Token: token})
		}
	}
	return out, nil
}

// Simulate connects every sensor to the broker at addr over MQTT, sends a
// day of history the first time (every 5 minutes), then a reading every
// interval until ctx ends.
func Simulate(ctx context.Context, addr string, sensors []Sensor, latest cityhub.SeriesStore, interval time.Duration, log *slog.Logger) {
	for i, s := range sensors {
		go func() {
			time.Sleep(time.Duration(i) * interval / time.Duration(len(sensors))) // spread the load
			opts := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(s.Device.Name).SetUsername(s.Token).
				SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(5 * time.Second)
			c := paho.NewClient(opts)
			if tok := c.Connect(); tok.Wait() && tok.Error() != nil {
				log.Warn("demo sensor could not connect", "device", s.Device.Name, "err", tok.Error())
				return
			}
			defer c.Disconnect(250)
			rng := rand.New(rand.NewPCG(uint64(s.Device.ID), 7))
			send := func(samples []map[string]any) {
				body, _ := json.Marshal(samples)
				tok := c.Publish("v1/devices/me/telemetry", 1, false, body)
				tok.WaitTimeout(30 * time.Second)
				if err := tok.Error(); err != nil && ctx.Err() == nil {
					log.Warn("demo sensor publish", "device", s.Device.Name, "err", err)
				}
			}
			now := time.Now()
			if vals, _ := latest.Latest(ctx, []int64{s.Device.ID}); len(vals[s.Device.ID]) == 0 {
				var day []map[string]any
				for t := now.Add(-24 * time.Hour); t.Before(now); t = t.Add(5 * time.Minute) {
					day = append(day, map[string]any{"ts": t.UnixMilli(), "values": reading(s.Device.Type, t, rng)})
				}
				send(day)
			}
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case t := <-tick.C:
					send([]map[string]any{{"ts": t.UnixMilli(), "values": reading(s.Device.Type, t, rng)}})
				}
			}
		}()
	}
}

// reading makes plausible values with a daily pattern: rush hours for
// traffic, noise and NO₂, an afternoon peak for ozone, a night dip.
func reading(typ string, t time.Time, rng *rand.Rand) map[string]any {
	h := float64(t.In(time.FixedZone("CST", 8*3600)).Hour()) + float64(t.Minute())/60
	rush := math.Exp(-math.Pow(h-8, 2)/2) + math.Exp(-math.Pow(h-17.5, 2)/2)
	sun := math.Max(0, math.Sin((h-6)/12*math.Pi))
	noise := func(scale float64) float64 { return rng.NormFloat64() * scale }
	round := func(v float64, lo, hi float64) float64 { return math.Round(math.Min(hi, math.Max(lo, v))*10) / 10 }
	switch typ {
	case "AirQualityObserved":
		pm25 := round(28+25*rush+noise(5), 2, 400)
		aqi := round(pm25*1.4, 0, 500)
		level := "优"
		switch {
		case aqi > 150:
			level = "中度污染"
		case aqi > 100:
			level = "轻度污染"
		case aqi > 50:
			level = "良"
		}
		return map[string]any{"pm25": pm25, "pm10": round(pm25*1.6+noise(6), 2, 800), "no2": round(22+30*rush+noise(4), 1, 400),
			"o3": round(40+90*sun+noise(8), 1, 400), "so2": round(6+noise(1.5), 1, 100), "co": round(0.6+0.5*rush+noise(0.1), 0.1, 10),
			"airQualityIndex": aqi, "airQualityLevel": level, "temperature": round(14+8*sun+noise(0.5), -10, 45),
			"relativeHumidity": round(75-20*sun+noise(3), 10, 100)}
	case "WaterQualityObserved":
		return map[string]any{"temperature": round(17+2*sun+noise(0.2), 0, 40), "pH": round(7.3+noise(0.1), 6, 9),
			"o2": round(7.5+1.2*sun+noise(0.2), 2, 14), "tur": round(12+noise(2), 1, 200), "NH4": round(0.45+noise(0.05), 0.05, 5),
			"conductivity": round(420+noise(15), 100, 2000), "cod": round(16+noise(1.5), 2, 80)}
	case "TrafficFlowObserved":
		intensity := round(60+260*rush+40*sun+noise(15), 0, 1500)
		speed := round(55-25*rush+noise(3), 5, 120)
		return map[string]any{"intensity": intensity, "occupancy": round(0.08+0.5*rush+noise(0.03), 0, 1),
			"averageVehicleSpeed": speed, "congested": speed < 32}
	case "NoiseLevelObserved":
		laeq := round(50+12*rush+6*sun+noise(1.5), 30, 100)
		return map[string]any{"LAeq": laeq, "LAmax": round(laeq+12+math.Abs(noise(3)), 35, 120)}
	case "TunnelGasObserved":
		return map[string]any{"ch4": round(0.8+math.Abs(noise(0.3)), 0, 100), "h2s": round(0.5+math.Abs(noise(0.2)), 0, 50),
			"o2": round(20.8+noise(0.1), 18, 22), "co": round(3+math.Abs(noise(1)), 0, 100)}
	}
	return map[string]any{}
}
