package dcat

import (
	"net/url"
	"time"

	"github.com/cityhub/cityhub"
)

// The mapping from the catalog to DCAT-AP 3, after ckanext-dcat's profiles
// (see the package documentation for the table).

// Controlled vocabularies of the EU Publications Office that DCAT-AP
// requires, and the IANA media types.
const (
	euFrequency  = "http://publications.europa.eu/resource/authority/frequency/"
	euTheme      = "http://publications.europa.eu/resource/authority/data-theme/"
	euThemes     = "http://publications.europa.eu/resource/authority/data-theme"
	euLanguage   = "http://publications.europa.eu/resource/authority/language/"
	euAccess     = "http://publications.europa.eu/resource/authority/access-right/"
	euFileType   = "http://publications.europa.eu/resource/authority/file-type/"
	ianaMedia    = "https://www.iana.org/assignments/media-types/"
	admsPubTypes = "http://purl.org/adms/publishertype/"
)

// Frequencies maps the guideline's update cycles (更新周期) to the EU
// frequency vocabulary. Every cycle has one: 实时 is UPDATE_CONT
// ("continuously updated", what DCAT-AP HVD uses for real-time data),
// 不定期 is IRREG.
var Frequencies = map[string]string{
	cityhub.CycleRealtime:  euFrequency + "UPDATE_CONT",
	cityhub.CycleDaily:     euFrequency + "DAILY",
	cityhub.CycleWeekly:    euFrequency + "WEEKLY",
	cityhub.CycleMonthly:   euFrequency + "MONTHLY",
	cityhub.CycleQuarterly: euFrequency + "QUARTERLY",
	cityhub.CycleYearly:    euFrequency + "ANNUAL",
	cityhub.CycleIrregular: euFrequency + "IRREG",
}

// Themes maps the seeded open-data domains (开放领域) to the EU data-theme
// vocabulary, which DCAT-AP requires for dcat:theme. Domains are data;
// one an administrator adds has no EU theme until it is added here, and
// keeps its own theme concept either way.
var Themes = map[string]string{
	"geo":           euTheme + "REGI", // 地理位置: regions and cities
	"market":        euTheme + "ECON", // 市场监管
	"traffic":       euTheme + "TRAN", // 交通状况
	"environment":   euTheme + "ENVI", // 环境监测
	"economy":       euTheme + "ECON", // 经济发展
	"education":     euTheme + "EDUC", // 教育科技
	"health":        euTheme + "HEAL", // 医疗卫生
	"social":        euTheme + "SOCI", // 社会保障
	"safety":        euTheme + "JUST", // 公共安全: justice, legal system and public safety
	"urban":         euTheme + "REGI", // 城市建设
	"culture":       euTheme + "EDUC", // 文化旅游: education, culture and sport
	"credit":        euTheme + "ECON", // 信用服务: records of market actors
	"organisations": euTheme + "GOVE", // 机构团体: government and public sector
	"agriculture":   euTheme + "AGRI", // 农业农村
	"weather":       euTheme + "ENVI", // 气象服务
	"energy":        euTheme + "ENER", // 能源环境
}

// DefaultLicense is the licence the distributions carry when the server
// names none.
var DefaultLicense = License{IRI: "https://creativecommons.org/licenses/by/4.0/", Title: "知识共享署名 4.0 国际许可协议 (CC BY 4.0)"}

// License is the terms the open data is offered under.
type License struct {
	IRI   string // dct:license
	Title string // its name, as the licence's dct:title
}

// Agent is an organisation as DCAT describes it (foaf:Organization).
type Agent struct {
	Name       string // foaf:name, in Chinese
	NameEN     string // foaf:name in English, if any
	CreditCode string // 统一社会信用代码 as dct:identifier, if any
	Homepage   string // foaf:homepage, if any
	Email      string // foaf:mbox, if any
	IRI        string // the organisation's IRI; a blank node when empty
}

// Kinds of use of a tabular entry's data, as they appear in IRIs.
const (
	distCSV    = "csv"    // the whole table as CSV (/datastore/dump)
	distAPI    = "api"    // datastore_search
	distPortal = "portal" // the landing page: apply for access, or read there
)

// doc builds one document: it knows the base IRI, the departments and
// domains, and collects the nodes.
type doc struct {
	s       *Server
	base    string
	depts   map[int64]*cityhub.Department
	domains map[string]*cityhub.Domain
	g       graph
}

func (d *doc) datasetIRI(e *cityhub.CatalogEntry) string {
	return joinPath(d.base, "dataset", e.PackageName())
}

func (d *doc) landingPage(e *cityhub.CatalogEntry) string {
	return joinPath(d.base, "open", "dataset", e.PackageName())
}

// themeIRI is the domain as a concept of its own: the CKAN group the
// domain is.
func (d *doc) themeIRI(code string) string {
	return withQuery(joinPath(d.base, "api", "3", "action", "group_show"), url.Values{"id": {code}})
}

func (d *doc) dateTime(t time.Time) value {
	return typedValue(t.In(d.s.location()).Format(time.RFC3339Nano), nsXSD+"dateTime")
}

// agent describes an organisation.
func agent(a Agent) *node {
	n := &node{iri: a.IRI, types: []string{nsFOAF + "Organization"}}
	n.addText(nsFOAF+"name", a.Name, "zh")
	n.addText(nsFOAF+"name", a.NameEN, "en")
	if a.CreditCode != "" {
		n.add(nsDCT+"identifier", stringValue(a.CreditCode))
	}
	if a.Homepage != "" {
		n.add(nsFOAF+"homepage", iriValue(a.Homepage))
	}
	if a.Email != "" {
		n.add(nsFOAF+"mbox", iriValue("mailto:"+a.Email))
	}
	return n
}

// provider is the entry's department as an agent: its current name and
// credit code, or what the entry recorded when the department is gone.
func (d *doc) provider(e *cityhub.CatalogEntry) Agent {
	if dep := d.depts[e.ProviderID]; dep != nil {
		return Agent{Name: dep.Name, CreditCode: dep.CreditCode}
	}
	return Agent{Name: e.ProviderName, CreditCode: e.ProviderCode}
}

// hasTable tells whether an entry keeps rows (电子表格 and 数据库): those
// are datastore resources.
func hasTable(e *cityhub.CatalogEntry) bool {
	return e.Format == cityhub.FormatSheet || e.Format == cityhub.FormatDatabase
}

// servesData tells whether the public may download the entry's rows: it is
// open unconditionally, keeps rows, and has items that may be served
// (sensitive and secret ones never are).
func servesData(e *cityhub.CatalogEntry) bool {
	return e.PublicData() && hasTable(e) && len(e.PublicItems()) > 0
}

// dataset adds the entry as a dcat:Dataset with its distributions and
// returns its IRI. The caller has checked e.PublicMetadata().
func (d *doc) dataset(e *cityhub.CatalogEntry) string {
	iri := d.datasetIRI(e)
	ds := &node{iri: iri, types: []string{nsDCAT + "Dataset"}}
	ds.add(nsDCT+"identifier", stringValue(cityhub.PackageID(e.ID)))
	code := &node{types: []string{nsADMS + "Identifier"}}
	code.add(nsSKOS+"notation", stringValue(e.Code))
	code.addText(nsADMS+"schemaAgency", d.s.publisher().Name, "zh")
	ds.add(nsADMS+"identifier", blankValue(code))
	ds.addText(nsDCT+"title", e.Name, "zh")
	ds.addText(nsDCT+"description", e.Abstract, "zh")
	for _, t := range e.Tags {
		ds.add(nsDCAT+"keyword", stringValue(t))
	}
	prov := d.provider(e)
	pub := agent(prov)
	pub.add(nsDCT+"type", iriValue(admsPubTypes+"LocalAuthority"))
	ds.add(nsDCT+"publisher", blankValue(pub))
	contact := &node{types: []string{nsVCARD + "Organization"}}
	contact.addText(nsVCARD+"fn", prov.Name, "zh")
	if len(contact.props) > 0 {
		ds.add(nsDCAT+"contactPoint", blankValue(contact))
	}
	if e.PublishDate != "" {
		ds.add(nsDCT+"issued", typedValue(e.PublishDate, nsXSD+"date"))
	} else if !e.CreatedAt.IsZero() {
		ds.add(nsDCT+"issued", d.dateTime(e.CreatedAt))
	}
	if !e.UpdatedAt.IsZero() {
		ds.add(nsDCT+"modified", d.dateTime(e.UpdatedAt))
	}
	ds.add(nsDCT+"language", iriValue(euLanguage+"ZHO"))
	if theme, ok := Themes[e.Domain]; ok {
		ds.add(nsDCAT+"theme", iriValue(theme))
	}
	var concept *node
	if e.Domain != "" {
		concept = &node{iri: d.themeIRI(e.Domain), types: []string{nsSKOS + "Concept"}}
		if dom := d.domains[e.Domain]; dom != nil {
			concept.addText(nsSKOS+"prefLabel", dom.Name, "zh")
			concept.addText(nsSKOS+"prefLabel", dom.EN, "en")
		}
		concept.add(nsSKOS+"notation", stringValue(e.Domain))
		ds.add(nsDCAT+"theme", iriValue(concept.iri))
	}
	if f, ok := Frequencies[e.UpdateCycle]; ok {
		ds.add(nsDCT+"accrualPeriodicity", iriValue(f))
	}
	landing := d.landingPage(e)
	ds.add(nsDCAT+"landingPage", iriValue(landing))
	if e.PublicData() {
		ds.add(nsDCT+"accessRights", iriValue(euAccess+"PUBLIC"))
	} else {
		ds.add(nsDCT+"accessRights", iriValue(euAccess+"RESTRICTED"))
	}

	var dists, licenses []*node
	lic := d.s.license()
	dist := func(kind, title string) *node {
		n := &node{iri: iri + "#" + kind, types: []string{nsDCAT + "Distribution"}}
		n.addText(nsDCT+"title", title, "zh")
		dists = append(dists, n)
		ds.add(nsDCAT+"distribution", iriValue(n.iri))
		return n
	}
	licensed := func(n *node) {
		if lic.IRI == "" {
			return
		}
		n.add(nsDCT+"license", iriValue(lic.IRI))
		doc := &node{iri: lic.IRI, types: []string{nsDCT + "LicenseDocument"}}
		doc.addText(nsDCT+"title", lic.Title, "zh")
		licenses = append(licenses, doc)
	}
	switch {
	case servesData(e):
		rid := cityhub.ResourceID(e.ID)
		dump := joinPath(d.base, "datastore", "dump", rid)
		csv := dist(distCSV, e.Name+"（CSV 下载）")
		csv.add(nsDCAT+"accessURL", iriValue(dump))
		csv.add(nsDCAT+"downloadURL", iriValue(dump))
		csv.add(nsDCT+"format", iriValue(euFileType+"CSV"))
		csv.add(nsDCAT+"mediaType", iriValue(ianaMedia+"text/csv"))
		licensed(csv)
		api := dist(distAPI, e.Name+"（数据接口）")
		api.addText(nsDCT+"description", "CKAN datastore_search：按条件查询、分页读取数据行（JSON）。", "zh")
		api.add(nsDCAT+"accessURL", iriValue(withQuery(joinPath(d.base, "api", "3", "action", "datastore_search"),
			url.Values{"resource_id": {rid}})))
		api.add(nsDCT+"format", iriValue(euFileType+"JSON"))
		api.add(nsDCAT+"mediaType", iriValue(ianaMedia+"application/json"))
		licensed(api)
		if e.DataUpdatedAt != nil {
			csv.add(nsDCT+"modified", d.dateTime(*e.DataUpdatedAt))
			api.add(nsDCT+"modified", d.dateTime(*e.DataUpdatedAt))
		}
	case e.PublicData():
		// Open, but nothing to download here: files, images and streams,
		// or a table whose every item is sensitive.
		p := dist(distPortal, e.Name+"（开放平台）")
		p.add(nsDCAT+"accessURL", iriValue(landing))
		licensed(p)
	default:
		// 有条件开放: the landing page takes applications; no download.
		p := dist(distPortal, e.Name+"（有条件开放，申请使用）")
		p.addText(nsDCT+"description", "有条件开放。开放条件："+e.OpenCondition, "zh")
		p.add(nsDCAT+"accessURL", iriValue(landing))
		p.add(nsDCT+"accessRights", iriValue(euAccess+"RESTRICTED"))
		licensed(p)
	}

	d.g.addNode(ds)
	for _, n := range dists {
		d.g.addNode(n)
	}
	if concept != nil {
		d.g.addNode(concept)
	}
	for _, n := range licenses {
		d.g.addNode(n)
	}
	return iri
}
