package cityhub

import (
	"slices"
	"time"
)

// DeviceTypes returns the sensor kinds the platform knows (a copy).
func DeviceTypes() []DeviceType { return slices.Clone(deviceTypes) }

// DeviceTypeByName returns the known type called name.
func DeviceTypeByName(name string) (*DeviceType, bool) {
	i := slices.IndexFunc(deviceTypes, func(t DeviceType) bool { return t.Name == name })
	if i < 0 {
		return nil, false
	}
	t := deviceTypes[i]
	return &t, true
}

// deviceTypes are the FIWARE Smart Data Models a city uses, and
// utility-tunnel sensors. Ranges are what a working sensor can report, not
// alarm thresholds.
var deviceTypes = []DeviceType{
	{Name: "AirQualityObserved", Label: "空气质量监测站", LabelEn: "Air quality station", Category: "air", Offline: 15 * time.Minute,
		Properties: []Property{
			num("pm25", "PM2.5", "PM2.5", "GQ", "µg/m³", 0, 1000),
			num("pm10", "PM10", "PM10", "GQ", "µg/m³", 0, 2000),
			num("no2", "二氧化氮", "NO₂", "GQ", "µg/m³", 0, 2000),
			num("so2", "二氧化硫", "SO₂", "GQ", "µg/m³", 0, 2000),
			num("o3", "臭氧", "O₃", "GQ", "µg/m³", 0, 1200),
			num("co", "一氧化碳", "CO", "GP", "mg/m³", 0, 150),
			num("airQualityIndex", "空气质量指数", "AQI", "", "", 0, 500),
			text("airQualityLevel", "空气质量级别", "AQI level"),
			num("temperature", "气温", "Temperature", "CEL", "°C", -40, 60),
			num("relativeHumidity", "相对湿度", "Relative humidity", "P1", "%", 0, 100),
		}},
	{Name: "WaterQualityObserved", Label: "水质监测站", LabelEn: "Water quality station", Category: "water", Offline: 30 * time.Minute,
		Properties: []Property{
			num("temperature", "水温", "Water temperature", "CEL", "°C", -5, 45),
			num("pH", "pH值", "pH", "", "", 0, 14),
			num("conductivity", "电导率", "Conductivity", "G42", "µS/cm", 0, 100000),
			num("o2", "溶解氧", "Dissolved oxygen", "M1", "mg/L", 0, 25),
			num("tur", "浊度", "Turbidity", "", "NTU", 0, 4000),
			num("NH4", "氨氮", "Ammonia nitrogen", "M1", "mg/L", 0, 100),
			num("PO4", "总磷", "Total phosphorus", "M1", "mg/L", 0, 50),
			num("cod", "化学需氧量", "COD", "M1", "mg/L", 0, 1000),
			num("bod", "生化需氧量", "BOD", "M1", "mg/L", 0, 500),
		}},
	{Name: "TrafficFlowObserved", Label: "交通流量检测器", LabelEn: "Traffic flow detector", Category: "traffic", Offline: 10 * time.Minute,
		Properties: []Property{
			num("intensity", "车流量", "Vehicles", "", "辆/5min", 0, 2000),
			num("occupancy", "占有率", "Occupancy", "", "", 0, 1),
			num("averageVehicleSpeed", "平均车速", "Average speed", "KMH", "km/h", 0, 250),
			boolean("congested", "拥堵", "Congested"),
		}},
	{Name: "NoiseLevelObserved", Label: "噪声监测点", LabelEn: "Noise monitor", Category: "noise", Offline: 15 * time.Minute,
		Properties: []Property{
			num("LAeq", "等效声级", "LAeq", "2N", "dB(A)", 20, 140),
			num("LAmax", "最大声级", "LAmax", "2N", "dB(A)", 20, 150),
		}},
	{Name: "WeatherObserved", Label: "气象站", LabelEn: "Weather station", Category: "weather", Offline: 15 * time.Minute,
		Properties: []Property{
			num("temperature", "气温", "Temperature", "CEL", "°C", -40, 60),
			num("relativeHumidity", "相对湿度", "Relative humidity", "P1", "%", 0, 100),
			num("windSpeed", "风速", "Wind speed", "MTS", "m/s", 0, 90),
			num("windDirection", "风向", "Wind direction", "DD", "°", 0, 360),
			num("precipitation", "降水量", "Precipitation", "MMT", "mm", 0, 500),
			num("atmosphericPressure", "气压", "Pressure", "A97", "hPa", 850, 1100),
		}},
	{Name: "OffStreetParking", Label: "停车场", LabelEn: "Car park", Category: "parking", Offline: 30 * time.Minute,
		Properties: []Property{
			num("totalSpotNumber", "总车位", "Total spots", "", "个", 0, 20000),
			num("availableSpotNumber", "空余车位", "Free spots", "", "个", 0, 20000),
		}},
	{Name: "Streetlight", Label: "智慧路灯", LabelEn: "Streetlight", Category: "lighting", Offline: time.Hour,
		Properties: []Property{
			text("status", "状态", "Status"),
			text("powerState", "开关", "Power state"),
			num("illuminanceLevel", "亮度", "Illuminance level", "", "", 0, 1),
			num("powerConsumption", "功率", "Power", "WTT", "W", 0, 2000),
		}},
	{Name: "TunnelGasObserved", Label: "综合管廊气体监测", LabelEn: "Utility tunnel gas", Category: "tunnel", Offline: 5 * time.Minute,
		Properties: []Property{
			num("ch4", "甲烷", "Methane", "P1", "%LEL", 0, 100),
			num("h2s", "硫化氢", "H₂S", "59", "ppm", 0, 500),
			num("o2", "氧气", "Oxygen", "P1", "%vol", 0, 30),
			num("co", "一氧化碳", "CO", "59", "ppm", 0, 1000),
		}},
	{Name: "TunnelWaterLevelObserved", Label: "综合管廊水位监测", LabelEn: "Utility tunnel water level", Category: "tunnel", Offline: 5 * time.Minute,
		Properties: []Property{
			num("waterLevel", "积水水位", "Water level", "MMT", "mm", 0, 5000),
		}},
	{Name: "TunnelEnvironmentObserved", Label: "综合管廊温湿度监测", LabelEn: "Utility tunnel temperature", Category: "tunnel", Offline: 5 * time.Minute,
		Properties: []Property{
			num("temperature", "温度", "Temperature", "CEL", "°C", -20, 80),
			num("relativeHumidity", "相对湿度", "Relative humidity", "P1", "%", 0, 100),
		}},
}

func num(name, label, labelEn, unit, sym string, lo, hi float64) Property {
	return Property{Name: name, Label: label, LabelEn: labelEn, Kind: KindNumber, Unit: unit, UnitSym: sym, Min: &lo, Max: &hi}
}

func text(name, label, labelEn string) Property {
	return Property{Name: name, Label: label, LabelEn: labelEn, Kind: KindText}
}

func boolean(name, label, labelEn string) Property {
	return Property{Name: name, Label: label, LabelEn: labelEn, Kind: KindBool}
}
