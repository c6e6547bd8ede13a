-- Seed data: the guideline's classification tree (类 and 项; 部门信息资源 grows a 项
-- per department as data) and the open-data domains. Both are data, extended by
-- administrators; key_domain marks the domains the plan sets an open-rate target for.
INSERT INTO classifications (code, name, parent) VALUES ('1', '基础信息资源', NULL);
INSERT INTO classifications (code, name, parent) VALUES ('101', '人口', '1');
INSERT INTO classifications (code, name, parent) VALUES ('102', '法人单位', '1');
INSERT INTO classifications (code, name, parent) VALUES ('103', '自然资源和空间地理', '1');
INSERT INTO classifications (code, name, parent) VALUES ('104', '社会信用', '1');
INSERT INTO classifications (code, name, parent) VALUES ('105', '电子证照', '1');
INSERT INTO classifications (code, name, parent) VALUES ('2', '主题信息资源', NULL);
INSERT INTO classifications (code, name, parent) VALUES ('201', '公共服务', '2');
INSERT INTO classifications (code, name, parent) VALUES ('202', '健康保障', '2');
INSERT INTO classifications (code, name, parent) VALUES ('203', '社会保障', '2');
INSERT INTO classifications (code, name, parent) VALUES ('204', '食品药品安全', '2');
INSERT INTO classifications (code, name, parent) VALUES ('205', '安全生产', '2');
INSERT INTO classifications (code, name, parent) VALUES ('206', '价格监管', '2');
INSERT INTO classifications (code, name, parent) VALUES ('207', '能源安全', '2');
INSERT INTO classifications (code, name, parent) VALUES ('208', '信用体系', '2');
INSERT INTO classifications (code, name, parent) VALUES ('209', '城乡建设', '2');
INSERT INTO classifications (code, name, parent) VALUES ('210', '社区治理', '2');
INSERT INTO classifications (code, name, parent) VALUES ('211', '生态环保', '2');
INSERT INTO classifications (code, name, parent) VALUES ('212', '应急维稳', '2');
INSERT INTO classifications (code, name, parent) VALUES ('3', '部门信息资源', NULL);
INSERT INTO domains (code, name, en, key_domain, position) VALUES ('geo', '地理位置', 'Geography', FALSE, 1);
INSERT INTO domains (code, name, en, key_domain, position) VALUES ('market', '市场监管', 'Market regulation', TRUE, 2);
INSERT INTO domains (code, name, en, key_domain, position) VALUES ('traffic', '交通状况', 'Traffic', TRUE, 3);
INSERT INTO domains (code, name, en, key_domain, position) VALUES ('environment', '环境监测', 'Environment', TRUE, 4);
INSERT INTO domains (code, name, en, key_domain, position) VALUES ('economy', '经济发展', 'Economy', FALSE, 5);
INSERT INTO domains (code, name, en, key_domain, position) VALUES ('education', '教育科技', 'Education and science', TRUE, 6);
INSERT INTO domains (code, name, en, key_domain, position) VALUES ('health', '医疗卫生', 'Health', TRUE, 7);
INSERT INTO domains (code, name, en, key_domain, position) VALUES ('social', '社会保障', 'Social security', TRUE, 8);
INSERT INTO domains (code, name, en, key_domain, position) VALUES ('safety', '公共安全', 'Public safety', FALSE, 9);
INSERT INTO domains (code, name, en, key_domain, position) VALUES ('urban', '城市建设', 'Urban construction', TRUE, 10);
INSERT INTO domains (code, name, en, key_domain, position) VALUES ('culture', '文化旅游', 'Culture and tourism', FALSE, 11);
INSERT INTO domains (code, name, en, key_domain, position) VALUES ('credit', '信用服务', 'Credit', TRUE, 12);
INSERT INTO domains (code, name, en, key_domain, position) VALUES ('organisations', '机构团体', 'Organisations', FALSE, 13);
INSERT INTO domains (code, name, en, key_domain, position) VALUES ('agriculture', '农业农村', 'Agriculture', FALSE, 14);
INSERT INTO domains (code, name, en, key_domain, position) VALUES ('weather', '气象服务', 'Weather', FALSE, 15);
INSERT INTO domains (code, name, en, key_domain, position) VALUES ('energy', '能源环境', 'Energy', FALSE, 16);
