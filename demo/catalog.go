package demo

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/cityhub/cityhub"
)

// resource is a template of a demo catalog entry. Items are written
// "名称:code:type:length:sensitivity[:pk]".
type resource struct {
	provider, class, name, abstract string
	format, cycle, share, open      string
	domain                          string
	tags                            string
	items                           []string
	perDistrict                     bool // one entry per district as well as the city's
}

const (
	u = cityhub.Unconditional
	c = cityhub.Conditional
	n = cityhub.NotShared
)

var resources = []resource{
	{"市公安局", "101", "人口基本信息", "全市户籍人口与常住人口的基本信息，包括身份、户籍地址、婚姻和迁移情况，是人口基础库的核心资源。", "database", "daily", u, n, "", "人口,户籍,基础库",
		[]string{"公民身份号码:citizen_id:C:18:secret:pk", "姓名:name:C:50:sensitive", "性别:gender:C:1:internal", "出生日期:birth_date:D:0:sensitive", "民族:ethnicity:C:20:internal", "户籍地址:household_address:C:200:sensitive", "行政区划代码:division_code:C:6:public"}, false},
	{"市民政局", "101", "婚姻登记信息", "结婚登记、离婚登记及补发证件信息。", "database", "daily", u, n, "", "婚姻,民政",
		[]string{"登记编号:record_no:C:30:internal:pk", "男方身份号码:husband_id:C:18:secret", "女方身份号码:wife_id:C:18:secret", "登记类型:record_type:C:10:internal", "登记日期:record_date:D:0:internal", "登记机关:office:C:100:public"}, false},
	{"市卫计委", "101", "出生医学证明信息", "新生儿出生医学证明签发信息。", "database", "daily", u, n, "", "出生,卫生",
		[]string{"证明编号:cert_no:C:20:internal:pk", "新生儿姓名:baby_name:C:50:sensitive", "出生日期:birth_date:D:0:sensitive", "母亲身份号码:mother_id:C:18:secret", "签发机构:issuer:C:100:public"}, false},
	{"市市场监管局", "102", "企业登记基本信息", "全市各类市场主体的登记注册信息，包括统一社会信用代码、名称、类型、法定代表人、注册资本、经营范围和登记状态。", "database", "daily", u, u, "market", "企业,法人,市场主体,营业执照",
		[]string{"统一社会信用代码:credit_code:C:18:public:pk", "企业名称:name:C:200:public", "企业类型:type:C:50:public", "法定代表人:legal_rep:C:50:public", "注册资本(万元):capital:N:18:public", "成立日期:founded:D:0:public", "经营范围:scope:M:0:public", "登记状态:status:C:20:public", "住所:address:C:200:public"}, false},
	{"市民政局", "102", "社会组织登记信息", "社会团体、民办非企业单位和基金会的登记信息。", "database", "weekly", u, u, "organisations", "社会组织,社团",
		[]string{"统一社会信用代码:credit_code:C:18:public:pk", "组织名称:name:C:200:public", "组织类型:type:C:30:public", "业务主管单位:supervisor:C:100:public", "登记日期:registered:D:0:public"}, true},
	{"市国土局", "103", "土地利用现状数据", "全市土地利用现状调查成果，含地类图斑和权属界线。", "image", "yearly", u, c, "geo", "土地,国土,地理",
		[]string{"图斑编号:parcel_no:C:30:public:pk", "地类代码:land_class:C:10:public", "面积(平方米):area:N:16:public", "权属性质:ownership:C:20:internal", "几何:geometry:G:0:internal"}, false},
	{"市规划局", "103", "城市总体规划用地图", "城市总体规划确定的用地布局与控制线。", "image", "irregular", u, u, "geo", "规划,用地,地图",
		[]string{"地块编号:plot_no:C:30:public:pk", "用地性质:land_use:C:20:public", "容积率:far:N:6:public", "几何:geometry:G:0:public"}, false},
	{"市发改委", "104", "公共信用信息", "行政许可、行政处罚、守信激励和失信惩戒等公共信用信息。", "database", "daily", u, c, "credit", "信用,双公示,红黑名单",
		[]string{"信息编号:record_no:C:40:internal:pk", "主体名称:subject:C:200:public", "统一社会信用代码:credit_code:C:18:public", "信息类别:category:C:20:public", "决定日期:decided:D:0:public", "决定机关:authority:C:100:public"}, false},
	{"市电子政务办", "105", "电子证照目录信息", "全市已归集电子证照的目录、持证主体和有效期。", "database", "realtime", u, n, "", "电子证照,证照",
		[]string{"证照编号:license_no:C:50:internal:pk", "证照类型:license_type:C:50:public", "持证主体:holder:C:200:sensitive", "持证主体代码:holder_code:C:18:sensitive", "有效期至:valid_until:D:0:internal"}, false},
	{"市人社局", "201", "就业创业服务机构信息", "公共就业服务机构、创业孵化基地名录及服务内容。", "sheet", "monthly", u, u, "social", "就业,创业,公共服务",
		[]string{"机构名称:name:C:200:public:pk", "机构类型:type:C:30:public", "地址:address:C:200:public", "联系电话:phone:C:20:public", "服务内容:services:M:0:public"}, true},
	{"市卫计委", "202", "医疗机构基本信息", "全市医疗卫生机构名录，含等级、床位数、科室设置与地址坐标。", "sheet", "monthly", u, u, "health", "医院,医疗机构,卫生",
		[]string{"机构代码:org_code:C:22:public:pk", "机构名称:name:C:200:public", "机构等级:grade:C:20:public", "床位数:beds:N:6:public", "地址:address:C:200:public", "经度:lon:N:12:public", "纬度:lat:N:12:public"}, true},
	{"市卫计委", "202", "传染病疫情统计", "法定传染病发病与死亡统计（按周）。", "sheet", "weekly", c, c, "health", "疫情,传染病,统计",
		[]string{"统计周:week:C:8:public:pk", "病种:disease:C:50:public", "发病数:cases:N:8:public", "死亡数:deaths:N:8:public"}, false},
	{"市人社局", "203", "社会保险参保信息", "职工养老、医疗、失业、工伤、生育保险参保与缴费信息。", "database", "monthly", c, n, "", "社保,参保,养老",
		[]string{"社会保障号码:ss_no:C:18:secret:pk", "姓名:name:C:50:sensitive", "参保险种:insurance:C:20:internal", "参保状态:status:C:10:internal", "缴费基数:base:Y:12:sensitive", "参保单位:employer:C:200:internal"}, false},
	{"市民政局", "203", "最低生活保障对象信息", "城乡低保对象的认定、保障金额与复核情况。", "database", "monthly", c, n, "", "低保,救助,民政",
		[]string{"身份证号:citizen_id:C:18:secret:pk", "姓名:name:C:50:sensitive", "保障类别:category:C:10:internal", "月保障金额:amount:Y:10:sensitive", "所属街道:street:C:50:internal"}, true},
	{"市市场监管局", "204", "食品经营许可信息", "食品经营许可证的核发、变更、延续与注销信息。", "database", "daily", u, u, "market", "食品,许可证,食品安全",
		[]string{"许可证编号:license_no:C:30:public:pk", "经营者名称:operator:C:200:public", "统一社会信用代码:credit_code:C:18:public", "经营项目:items:M:0:public", "有效期至:valid_until:D:0:public", "经营场所:premises:C:200:public"}, true},
	{"市市场监管局", "204", "食品安全抽检结果", "食品安全监督抽检的产品、批次和检验结论。", "sheet", "monthly", u, u, "market", "抽检,食品安全",
		[]string{"抽样编号:sample_no:C:30:public:pk", "食品名称:food:C:100:public", "被抽样单位:sampled:C:200:public", "检验结论:result:C:10:public", "公告日期:announced:D:0:public"}, false},
	{"市安监局", "205", "危险化学品企业信息", "危险化学品生产、经营、储存企业名录及重大危险源。", "database", "quarterly", c, n, "", "危化品,安全生产,危险源",
		[]string{"企业名称:name:C:200:internal:pk", "统一社会信用代码:credit_code:C:18:internal", "危险源等级:hazard_level:C:10:sensitive", "经度:lon:N:12:sensitive", "纬度:lat:N:12:sensitive"}, true},
	{"市发改委", "206", "重要商品价格监测", "粮油、肉禽蛋、蔬菜等重要民生商品价格监测数据。", "sheet", "weekly", u, u, "economy", "价格,物价,民生",
		[]string{"监测日期:date:D:0:public:pk", "商品名称:goods:C:50:public", "规格:spec:C:50:public", "价格(元):price:Y:10:public", "监测点:point:C:100:public"}, true},
	{"市经信委", "207", "重点用能单位能耗数据", "年综合能耗万吨标煤以上重点用能单位的能源消费数据。", "sheet", "monthly", c, c, "energy", "能耗,节能,能源",
		[]string{"单位名称:name:C:200:internal:pk", "统计月份:month:C:7:public", "综合能耗(吨标煤):energy:N:14:internal", "用电量(万千瓦时):electricity:N:14:internal"}, false},
	{"市经信委", "207", "电力供应运行日报", "全市电网负荷、发电与用电运行数据。", "stream", "realtime", c, n, "", "电力,电网,用电",
		[]string{"时间:time:T:0:internal:pk", "最高负荷(万千瓦):peak_load:N:10:internal", "用电量(万千瓦时):consumption:N:12:internal"}, false},
	{"市发改委", "208", "行政许可和行政处罚信息", "各部门归集的行政许可、行政处罚“双公示”信息。", "database", "daily", u, u, "credit", "双公示,行政许可,行政处罚,信用",
		[]string{"决定文书号:doc_no:C:100:public:pk", "相对人名称:party:C:200:public", "统一社会信用代码:credit_code:C:18:public", "事由:reason:M:0:public", "决定日期:decided:D:0:public"}, false},
	{"市住建委", "209", "建设工程施工许可信息", "房屋建筑和市政基础设施工程施工许可信息。", "database", "daily", u, u, "urban", "施工许可,建设工程,住建",
		[]string{"许可证号:permit_no:C:50:public:pk", "工程名称:project:C:200:public", "建设单位:builder:C:200:public", "建设地址:address:C:200:public", "合同价格(万元):price:Y:14:public", "发证日期:issued:D:0:public"}, true},
	{"市住建委", "209", "商品房预售许可信息", "商品房预售许可证核发及可售房源信息。", "database", "daily", u, u, "urban", "预售,商品房,房地产",
		[]string{"预售证号:permit_no:C:50:public:pk", "项目名称:project:C:200:public", "开发企业:developer:C:200:public", "预售套数:units:N:8:public", "发证日期:issued:D:0:public"}, true},
	{"市城管局", "209", "智慧路灯设施信息", "城市道路照明路灯、灯杆、控制箱设施台账及运行状态。", "database", "daily", u, u, "urban", "路灯,照明,市政设施",
		[]string{"灯杆编号:pole_no:C:30:public:pk", "所在道路:road:C:100:public", "光源类型:lamp_type:C:20:public", "功率(瓦):power:N:6:public", "运行状态:state:C:10:public", "经度:lon:N:12:public", "纬度:lat:N:12:public"}, true},
	{"市城管局", "209", "窨井盖设施信息", "道路窨井盖的权属单位、材质、位置和巡查状态。", "database", "weekly", u, c, "urban", "井盖,窨井,市政设施",
		[]string{"井盖编号:cover_no:C:30:public:pk", "权属单位:owner:C:100:public", "井盖类型:type:C:20:public", "材质:material:C:20:public", "巡查状态:inspection:C:10:internal", "经度:lon:N:12:public", "纬度:lat:N:12:public"}, true},
	{"市城管局", "210", "城市管理案件信息", "数字城管受理、派遣、处置和结案的案件信息。", "database", "realtime", u, c, "urban", "城管,案件,12345",
		[]string{"案件编号:case_no:C:30:public:pk", "案件类别:category:C:50:public", "发生地址:address:C:200:public", "上报时间:reported:T:0:public", "处置状态:status:C:10:public", "结案时间:closed:T:0:public"}, true},
	{"市民政局", "210", "社区基本信息", "社区（村）名称、边界、人口规模与服务设施。", "sheet", "yearly", u, u, "geo", "社区,村居,基层治理",
		[]string{"社区代码:code:C:12:public:pk", "社区名称:name:C:100:public", "所属街道:street:C:100:public", "户数:households:N:8:public", "常住人口:population:N:8:public"}, true},
	{"市环保局", "211", "空气质量监测数据", "国控、省控和市控空气自动监测站的逐小时污染物浓度与AQI。", "stream", "realtime", u, u, "environment", "空气质量,AQI,PM2.5,环境监测",
		[]string{"监测站点:station:C:50:public:pk", "监测时间:time:T:0:public", "PM2.5(µg/m³):pm25:N:8:public", "PM10(µg/m³):pm10:N:8:public", "O3(µg/m³):o3:N:8:public", "NO2(µg/m³):no2:N:8:public", "AQI:aqi:N:4:public"}, false},
	{"市环保局", "211", "地表水水质监测数据", "河流、湖库断面的水质类别和主要指标。", "sheet", "monthly", u, u, "environment", "水质,地表水,环境监测",
		[]string{"断面名称:section:C:50:public:pk", "监测月份:month:C:7:public", "水质类别:class:C:4:public", "溶解氧(mg/L):do:N:8:public", "氨氮(mg/L):nh3n:N:8:public", "总磷(mg/L):tp:N:8:public"}, false},
	{"市环保局", "211", "重点排污单位名录", "重点排污单位名录及自行监测信息公开情况。", "sheet", "yearly", u, u, "environment", "排污,污染源",
		[]string{"单位名称:name:C:200:public:pk", "统一社会信用代码:credit_code:C:18:public", "排污类别:category:C:20:public", "所在区县:district:C:20:public"}, true},
	{"市水利局", "211", "河道水位雨量监测", "主要河道、水库的实时水位和雨量站降雨数据。", "stream", "realtime", u, u, "environment", "水位,雨量,防汛",
		[]string{"测站编码:station:C:20:public:pk", "时间:time:T:0:public", "水位(米):level:N:8:public", "雨量(毫米):rain:N:8:public"}, false},
	{"市安监局", "212", "应急避难场所信息", "应急避难场所位置、容量与设施。", "sheet", "yearly", u, u, "safety", "应急,避难场所",
		[]string{"场所名称:name:C:100:public:pk", "地址:address:C:200:public", "可容纳人数:capacity:N:8:public", "经度:lon:N:12:public", "纬度:lat:N:12:public"}, true},
	{"市公安局", "212", "道路交通事故统计", "道路交通事故起数、伤亡与原因统计。", "sheet", "monthly", c, c, "traffic", "交通事故,道路安全",
		[]string{"统计月份:month:C:7:public:pk", "事故起数:accidents:N:8:public", "死亡人数:deaths:N:8:public", "受伤人数:injuries:N:8:public"}, false},
	{"市公安局", "3", "机动车驾驶人信息", "机动车驾驶人的准驾车型、记分与状态。", "database", "daily", n, n, "", "驾驶人,驾照",
		[]string{"档案编号:file_no:C:20:secret:pk", "身份证号:citizen_id:C:18:secret", "准驾车型:class:C:10:internal", "累积记分:points:N:3:internal"}, false},
	{"市交通委", "3", "公交线路与站点信息", "常规公交线路走向、站点位置和首末班时间。", "sheet", "monthly", u, u, "traffic", "公交,线路,站点,出行",
		[]string{"线路编号:line:C:20:public:pk", "线路名称:name:C:50:public", "站点名称:stop:C:50:public", "站序:seq:N:4:public", "首班时间:first:C:5:public", "末班时间:last:C:5:public"}, false},
	{"市交通委", "3", "道路交通流量数据", "主要道路断面的车流量、平均车速和拥堵指数。", "stream", "realtime", u, u, "traffic", "交通流量,拥堵,车速,traffic",
		[]string{"断面编号:segment:C:20:public:pk", "时间:time:T:0:public", "流量(辆/小时):intensity:N:8:public", "平均车速(km/h):speed:N:6:public", "拥堵指数:congestion:N:4:public"}, false},
	{"市交通委", "3", "公共停车场泊位信息", "公共停车场位置、总泊位与实时空余泊位。", "stream", "realtime", u, u, "traffic", "停车,泊位,parking",
		[]string{"停车场编号:lot:C:20:public:pk", "名称:name:C:100:public", "总泊位:total:N:6:public", "空余泊位:available:N:6:public", "经度:lon:N:12:public", "纬度:lat:N:12:public"}, true},
	{"市统计局", "3", "国民经济主要指标", "地区生产总值、固定资产投资、社会消费品零售总额等月度和年度指标。", "sheet", "monthly", u, u, "economy", "统计,GDP,经济指标",
		[]string{"指标名称:indicator:C:100:public:pk", "统计期:period:C:7:public", "数值:value:N:18:public", "计量单位:unit:C:20:public", "同比增长(%):yoy:N:8:public"}, false},
	{"市统计局", "3", "人口抽样调查数据", "年度人口变动抽样调查汇总数据。", "sheet", "yearly", u, u, "economy", "人口,统计,抽样调查",
		[]string{"区县:district:C:20:public:pk", "年份:year:C:4:public", "常住人口(万人):population:N:10:public", "出生率(‰):birth_rate:N:6:public"}, false},
	{"市规划局", "3", "建设用地规划许可信息", "建设用地规划许可证核发信息。", "database", "daily", u, u, "urban", "规划许可,用地",
		[]string{"许可证号:permit_no:C:50:public:pk", "项目名称:project:C:200:public", "用地单位:applicant:C:200:public", "用地面积(平方米):area:N:14:public", "发证日期:issued:D:0:public"}, true},
	{"市大数据管理局", "3", "政务数据共享调用统计", "各部门通过共享交换平台调用接口的次数与数据量统计。", "sheet", "monthly", u, c, "organisations", "共享交换,接口,统计",
		[]string{"统计月份:month:C:7:public:pk", "调用部门:consumer:C:100:public", "提供部门:provider:C:100:public", "调用次数:calls:N:12:public"}, false},
	{"市大数据管理局", "3", "政务服务事项目录", "依申请政务服务事项的名称、实施主体、办理时限和材料。", "selfdesc", "irregular", u, u, "organisations", "政务服务,办事指南,事项",
		[]string{"事项编码:item_code:C:40:public:pk", "事项名称:name:C:200:public", "实施主体:agency:C:100:public", "法定时限(工作日):limit:N:4:public", "申请材料:materials:M:0:public"}, false},
	{"市水利局", "3", "水利工程基础信息", "水库、堤防、水闸、泵站等水利工程基础信息。", "database", "yearly", u, c, "environment", "水利工程,水库,堤防",
		[]string{"工程编码:code:C:20:public:pk", "工程名称:name:C:100:public", "工程类型:type:C:20:public", "所在区县:district:C:20:public", "经度:lon:N:12:public", "纬度:lat:N:12:public"}, true},
}

var districtNames = []struct{ code, short string }{{"330203", "海曙区"}, {"330205", "江北区"}, {"330206", "北仑区"},
	{"330211", "镇海区"}, {"330212", "鄞州区"}, {"330213", "奉化区"}, {"330225", "象山县"}, {"330226", "宁海县"},
	{"330281", "余姚市"}, {"330282", "慈溪市"}}

func parseItem(s string) cityhub.DataItem {
	f := strings.Split(s, ":")
	length, _ := strconv.Atoi(f[3])
	it := cityhub.DataItem{Name: f[0], Code: f[1], Type: f[2], Length: length, Sensitivity: f[4]}
	if len(f) > 5 && f[5] == "pk" {
		it.PrimaryKey, it.Required = true, true
	}
	return it
}

// basis is the stated ground for 有条件 and 不予 sharing or opening.
const basis = "《政务信息资源共享管理暂行办法》（国发〔2016〕51号）第九条；涉及个人信息，依《中华人民共和国个人信息保护法》处理。"

// catalogEntries builds the demo catalog from the templates: each city
// resource, and per-district copies for those that districts keep too.
func catalogEntries(ids map[string]int64) []*cityhub.CatalogEntry {
	var out []*cityhub.CatalogEntry
	for _, r := range resources {
		variants := []struct{ prefix, provider string }{{"宁波市", r.provider}}
		if r.perDistrict {
			for _, d := range districtNames {
				variants = append(variants, struct{ prefix, provider string }{d.short, d.short + "政府"})
			}
		}
		for _, v := range variants {
			e := &cityhub.CatalogEntry{ClassificationCode: r.class, Name: v.prefix + r.name, ProviderID: ids[v.provider],
				Abstract: strings.Replace(r.abstract, "全市", map[bool]string{true: "全市", false: v.prefix}[v.prefix == "宁波市"], 1),
				Format:   r.format, UpdateCycle: r.cycle, ShareType: r.share, OpenType: r.open, Domain: r.domain,
				Tags: strings.Split(r.tags, ",")}
			if r.class == "3" {
				e.ClassificationCode = departmentClass(ids, v.provider)
			}
			for _, it := range r.items {
				e.Items = append(e.Items, parseItem(it))
			}
			if e.ShareType != cityhub.NotShared {
				e.ShareMethod = map[string]string{"stream": "接口订阅", "database": "接口调用", "image": "文件下载"}[r.format]
				if e.ShareMethod == "" {
					e.ShareMethod = "文件下载"
				}
			}
			if e.ShareType == cityhub.Conditional {
				e.ShareCondition = "仅限履行法定职责需要，按申请事项使用，不得转授他人。"
			}
			if e.ShareType != cityhub.Unconditional {
				e.ShareBasis = basis
			}
			if e.OpenType == cityhub.Conditional {
				e.OpenCondition = "注册用户提出申请并说明用途，经提供部门同意后开放。"
			}
			if e.OpenType != cityhub.Unconditional {
				e.OpenBasis = basis
			}
			if e.ProviderID == 0 {
				continue
			}
			out = append(out, e)
		}
	}
	return out
}

// departmentClass is the 部门信息资源 项 of a department: 3 + two digits,
// made on first use (the tree is data).
func departmentClass(ids map[string]int64, provider string) string {
	return fmt.Sprintf("3%02d", ids[provider]%100)
}

// loadCatalog adds the demo catalog unless entries exist already: the
// department classifications, the entries, and a lifecycle spread so every
// status, an overdue change request and version history show up.
func loadCatalog(ctx context.Context, store cityhub.Store, ids map[string]int64, names map[string]string) (int, error) {
	existing, err := store.SearchCatalog(ctx, cityhub.CatalogQuery{Scope: cityhub.CatalogScope{All: true}, Limit: 1})
	if err != nil || existing.Total > 0 {
		return 0, err
	}
	classes, err := store.Classifications(ctx, cityhub.CatalogScope{All: true})
	if err != nil {
		return 0, err
	}
	have := map[string]bool{}
	for _, c := range classes {
		have[c.Code] = true
	}
	entries := catalogEntries(ids)
	for _, e := range entries {
		if strings.HasPrefix(e.ClassificationCode, "3") && !have[e.ClassificationCode] {
			short := ""
			for s, id := range ids {
				if departmentClass(ids, s) == e.ClassificationCode && id == e.ProviderID {
					short = s
				}
			}
			if err := store.CreateClassification(ctx, &cityhub.Classification{Code: e.ClassificationCode, Name: names[short]}); err != nil {
				return 0, fmt.Errorf("classification %s: %w", e.ClassificationCode, err)
			}
			have[e.ClassificationCode] = true
		}
	}
	rows := make([]cityhub.ImportRow, len(entries))
	for i, e := range entries {
		rows[i] = cityhub.ImportRow{Row: i + 1, Entry: e}
	}
	rep, err := store.ImportEntries(ctx, rows, cityhub.ImportOptions{})
	if err != nil {
		return 0, err
	}
	if len(rep.Problems) > 0 {
		p := rep.Problems[0]
		return 0, fmt.Errorf("demo catalog row %d (%s): %s: %s", p.Row, entries[p.Row-1].Name, p.Field, p.Reason)
	}
	// Most entries go through review and are published; a few stay behind
	// at each step so every status shows.
	for i, e := range entries {
		var steps []cityhub.Transition
		switch {
		case hasDemoTable(e.Name): // the portal and the APIs show their rows
			steps = []cityhub.Transition{cityhub.ActSubmit, cityhub.ActApprove, cityhub.ActPublish}
		case i%17 == 3:
			steps = nil // draft
		case i%17 == 5:
			steps = []cityhub.Transition{cityhub.ActSubmit}
		case i%17 == 7:
			steps = []cityhub.Transition{cityhub.ActSubmit, cityhub.ActReject}
		case i%17 == 11:
			steps = []cityhub.Transition{cityhub.ActSubmit, cityhub.ActApprove}
		case i%23 == 13 && e.OpenType != cityhub.NotShared:
			steps = []cityhub.Transition{cityhub.ActSubmit} // openable but not yet published: lowers the open rate
		default:
			steps = []cityhub.Transition{cityhub.ActSubmit, cityhub.ActApprove, cityhub.ActPublish}
		}
		for _, step := range steps {
			reason := ""
			if step == cityhub.ActReject {
				reason = "信息项缺少数据长度和敏感级别说明，请补充后重新提交。"
			}
			if _, err := store.TransitionEntry(ctx, e.ID, step, reason); err != nil {
				return 0, fmt.Errorf("%s %s: %w", step, e.Name, err)
			}
		}
	}
	if _, err := loadRows(ctx, store, entries); err != nil {
		return 0, err
	}
	if len(entries) > 2 {
		cr := &cityhub.ChangeRequest{EntryID: entries[0].ID, Reason: "户籍地址字段已按新行政区划调整，请同步更新信息项说明。"}
		if err := store.CreateChangeRequest(ctx, cr); err != nil {
			return 0, err
		}
	}
	return len(entries), nil
}
