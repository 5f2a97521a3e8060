BEGIN TRANSACTION;
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO "alembic_version" VALUES('v3.2.0.a');
CREATE TABLE studies (
	study_id INTEGER NOT NULL, 
	study_name VARCHAR(512) NOT NULL, 
	PRIMARY KEY (study_id)
);
INSERT INTO "studies" VALUES(1,'label-smoothing');
CREATE TABLE study_directions (
	study_direction_id INTEGER NOT NULL, 
	direction VARCHAR(8) NOT NULL, 
	study_id INTEGER NOT NULL, 
	objective INTEGER NOT NULL, 
	PRIMARY KEY (study_direction_id), 
	UNIQUE (study_id, objective), 
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
INSERT INTO "study_directions" VALUES(1,'MAXIMIZE',1,0);
CREATE TABLE study_system_attributes (
	study_system_attribute_id INTEGER NOT NULL, 
	study_id INTEGER, 
	"key" VARCHAR(512), 
	value_json TEXT, 
	PRIMARY KEY (study_system_attribute_id), 
	UNIQUE (study_id, "key"), 
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
INSERT INTO "study_system_attributes" VALUES(1,1,'study:metric_names','["val_acc"]');
CREATE TABLE study_user_attributes (
	study_user_attribute_id INTEGER NOT NULL, 
	study_id INTEGER, 
	"key" VARCHAR(512), 
	value_json TEXT, 
	PRIMARY KEY (study_user_attribute_id), 
	UNIQUE (study_id, "key"), 
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
INSERT INTO "study_user_attributes" VALUES(1,1,'data_source','"folders:/tmp/tmpv7k6z5pc/data"');
INSERT INTO "study_user_attributes" VALUES(2,1,'question','"How does label smoothing change overfitting of a fixed CNN on CIFAR-10?"');
INSERT INTO "study_user_attributes" VALUES(3,1,'protocol','{"epochs": 1, "batch_size": 128, "lr": 0.001, "subset": null, "train_eval_size": 10000, "ece_bins": 15, "precision": "fp32", "data_fingerprint": "de4ccb1474980746", "sampling": "grid", "sweep_version": "0.6.0", "training_revision": 1, "equivalence_margin_pp": 1.0, "equivalence_margin_nats": 0.02, "primary": "gap"}');
INSERT INTO "study_user_attributes" VALUES(4,1,'command:1796621739.827559:11543','"python -m sweep run --trials 3 --epochs 1 --data-dir /tmp/tmpv7k6z5pc/data --cache-dir /tmp/tmpv7k6z5pc/cache --device cpu --workers 1 --no-report  # sweep 0.6.0"');
CREATE TABLE sweep_attempts (
	study_id INTEGER NOT NULL, 
	cell VARCHAR(128) NOT NULL, 
	attempt INTEGER NOT NULL, 
	trial_id INTEGER NOT NULL, 
	PRIMARY KEY (study_id, cell, attempt)
);
INSERT INTO "sweep_attempts" VALUES(1,'eps=0/seed=0',0,1);
INSERT INTO "sweep_attempts" VALUES(1,'eps=0.05/seed=0',0,2);
INSERT INTO "sweep_attempts" VALUES(1,'eps=0.1/seed=0',0,3);
CREATE TABLE sweep_blocks (
	study_id INTEGER NOT NULL, 
	seed INTEGER NOT NULL, 
	decided_at DOUBLE NOT NULL, 
	worker VARCHAR(256) NOT NULL, 
	record TEXT NOT NULL, 
	PRIMARY KEY (study_id, seed)
);
CREATE TABLE sweep_studies (
	study_name VARCHAR(512) NOT NULL, 
	protocol TEXT NOT NULL, 
	PRIMARY KEY (study_name)
);
INSERT INTO "sweep_studies" VALUES('label-smoothing','{"epochs": 1, "batch_size": 128, "lr": 0.001, "subset": null, "train_eval_size": 10000, "ece_bins": 15, "precision": "fp32", "data_fingerprint": "de4ccb1474980746", "sampling": "grid", "sweep_version": "0.6.0", "training_revision": 1, "equivalence_margin_pp": 1.0, "equivalence_margin_nats": 0.02, "primary": "gap"}');
CREATE TABLE trial_heartbeats (
	trial_heartbeat_id INTEGER NOT NULL, 
	trial_id INTEGER NOT NULL, 
	heartbeat DATETIME NOT NULL, 
	PRIMARY KEY (trial_heartbeat_id), 
	UNIQUE (trial_id), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
INSERT INTO "trial_heartbeats" VALUES(1,1,'2026-12-07 05:35:39.894');
INSERT INTO "trial_heartbeats" VALUES(2,2,'2026-12-07 05:35:42.298');
INSERT INTO "trial_heartbeats" VALUES(3,3,'2026-12-07 05:35:42.618');
CREATE TABLE trial_intermediate_values (
	trial_intermediate_value_id INTEGER NOT NULL, 
	trial_id INTEGER NOT NULL, 
	step INTEGER NOT NULL, 
	intermediate_value FLOAT, 
	intermediate_value_type VARCHAR(7) NOT NULL, 
	PRIMARY KEY (trial_intermediate_value_id), 
	UNIQUE (trial_id, step), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
INSERT INTO "trial_intermediate_values" VALUES(1,1,1,0.61,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(2,2,1,0.64,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(3,3,1,0.67,'FINITE');
CREATE TABLE trial_params (
	param_id INTEGER NOT NULL, 
	trial_id INTEGER, 
	param_name VARCHAR(512), 
	param_value FLOAT, 
	distribution_json TEXT, 
	PRIMARY KEY (param_id), 
	UNIQUE (trial_id, param_name), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
INSERT INTO "trial_params" VALUES(1,1,'label_smoothing',0.0,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, "high": 0.1, "log": false}}');
INSERT INTO "trial_params" VALUES(2,1,'seed',0.0,'{"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0, "high": 0}}');
INSERT INTO "trial_params" VALUES(3,2,'label_smoothing',0.05,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, "high": 0.1, "log": false}}');
INSERT INTO "trial_params" VALUES(4,2,'seed',0.0,'{"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0, "high": 0}}');
INSERT INTO "trial_params" VALUES(5,3,'label_smoothing',0.1,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, "high": 0.1, "log": false}}');
INSERT INTO "trial_params" VALUES(6,3,'seed',0.0,'{"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0, "high": 0}}');
CREATE TABLE trial_system_attributes (
	trial_system_attribute_id INTEGER NOT NULL, 
	trial_id INTEGER, 
	"key" VARCHAR(512), 
	value_json TEXT, 
	PRIMARY KEY (trial_system_attribute_id), 
	UNIQUE (trial_id, "key"), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE trial_user_attributes (
	trial_user_attribute_id INTEGER NOT NULL, 
	trial_id INTEGER, 
	"key" VARCHAR(512), 
	value_json TEXT, 
	PRIMARY KEY (trial_user_attribute_id), 
	UNIQUE (trial_id, "key"), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
INSERT INTO "trial_user_attributes" VALUES(1,1,'cell','"eps=0/seed=0"');
INSERT INTO "trial_user_attributes" VALUES(2,1,'attempt','0');
INSERT INTO "trial_user_attributes" VALUES(3,2,'cell','"eps=0.05/seed=0"');
INSERT INTO "trial_user_attributes" VALUES(4,2,'attempt','0');
INSERT INTO "trial_user_attributes" VALUES(5,3,'cell','"eps=0.1/seed=0"');
INSERT INTO "trial_user_attributes" VALUES(6,3,'attempt','0');
INSERT INTO "trial_user_attributes" VALUES(7,1,'worker','"vm:11543:c560b8"');
INSERT INTO "trial_user_attributes" VALUES(8,1,'heartbeat_grace','60');
INSERT INTO "trial_user_attributes" VALUES(9,1,'device','"cpu"');
INSERT INTO "trial_user_attributes" VALUES(10,1,'threads','2');
INSERT INTO "trial_user_attributes" VALUES(11,1,'machine','"AMD EPYC, 2 cores, AVX2"');
INSERT INTO "trial_user_attributes" VALUES(12,1,'trials_together','1');
INSERT INTO "trial_user_attributes" VALUES(13,1,'compiled','false');
INSERT INTO "trial_user_attributes" VALUES(14,1,'resumed_from_epoch','0');
INSERT INTO "trial_user_attributes" VALUES(15,1,'history','[{"epoch": 1, "train_loss_running": 2.153083324432373, "train_acc_running": 0.20333333333333334, "train_acc": 0.6166666666666667, "train_nll": 1.5202374267578125, "train_loss": 1.5202374267578125, "val_acc": 0.61, "val_nll": 1.5253546142578125, "val_loss": 1.5253546142578125, "val_ece": 0.3638275480270386, "val_bin_count": [0, 0, 21, 49, 20, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, null, 0.5238095238095238, 0.6122448979591837, 0.5, null, 1.0, null, null, null, null, null, null, null, null], "val_bin_conf": [null, null, 0.16500727335611978, 0.22499347219661792, 0.2896378755569458, null, 0.43346548080444336, null, null, null, null, null, null, null, null], "epoch_seconds": 0.24975481500041496, "eval_seconds": 0.08735684999919613, "trials_together": 1}]');
INSERT INTO "trial_user_attributes" VALUES(16,1,'train_acc','0.6166666666666667');
INSERT INTO "trial_user_attributes" VALUES(17,1,'val_acc','0.61');
INSERT INTO "trial_user_attributes" VALUES(18,1,'train_nll','1.5202374267578125');
INSERT INTO "trial_user_attributes" VALUES(19,1,'val_nll','1.5253546142578125');
INSERT INTO "trial_user_attributes" VALUES(20,1,'val_loss','1.5253546142578125');
INSERT INTO "trial_user_attributes" VALUES(21,1,'val_ece','0.3638275480270386');
INSERT INTO "trial_user_attributes" VALUES(22,1,'train_loss_running','2.153083324432373');
INSERT INTO "trial_user_attributes" VALUES(23,1,'train_acc_running','0.20333333333333334');
INSERT INTO "trial_user_attributes" VALUES(24,1,'gap','0.00666666666666671');
INSERT INTO "trial_user_attributes" VALUES(25,1,'nll_gap','0.005117187500000009');
INSERT INTO "trial_user_attributes" VALUES(26,1,'seconds','0.3371116649996111');
INSERT INTO "trial_user_attributes" VALUES(27,2,'worker','"vm:11543:c560b8"');
INSERT INTO "trial_user_attributes" VALUES(28,2,'heartbeat_grace','60');
INSERT INTO "trial_user_attributes" VALUES(29,2,'device','"cpu"');
INSERT INTO "trial_user_attributes" VALUES(30,2,'threads','2');
INSERT INTO "trial_user_attributes" VALUES(31,2,'machine','"AMD EPYC, 2 cores, AVX2"');
INSERT INTO "trial_user_attributes" VALUES(32,2,'trials_together','1');
INSERT INTO "trial_user_attributes" VALUES(33,2,'compiled','false');
INSERT INTO "trial_user_attributes" VALUES(34,2,'resumed_from_epoch','0');
INSERT INTO "trial_user_attributes" VALUES(35,2,'history','[{"epoch": 1, "train_loss_running": 2.1618146896362305, "train_acc_running": 0.20333333333333334, "train_acc": 0.6666666666666666, "train_nll": 1.5216168212890624, "train_loss": 1.5714962768554688, "val_acc": 0.64, "val_nll": 1.5266575622558594, "val_loss": 1.5762649536132813, "val_ece": 0.39441154241561893, "val_bin_count": [0, 0, 21, 48, 21, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, null, 0.47619047619047616, 0.6875, 0.5238095238095238, null, 1.0, null, null, null, null, null, null, null, null], "val_bin_conf": [null, null, 0.16562728654770625, 0.22328434387842813, 0.28783053443545387, null, 0.4318583011627197, null, null, null, null, null, null, null, null], "epoch_seconds": 0.20327223899948876, "eval_seconds": 0.08430356200005917, "trials_together": 1}]');
INSERT INTO "trial_user_attributes" VALUES(36,2,'train_acc','0.6666666666666666');
INSERT INTO "trial_user_attributes" VALUES(37,2,'val_acc','0.64');
INSERT INTO "trial_user_attributes" VALUES(38,2,'train_nll','1.5216168212890624');
INSERT INTO "trial_user_attributes" VALUES(39,2,'val_nll','1.5266575622558594');
INSERT INTO "trial_user_attributes" VALUES(40,2,'val_loss','1.5762649536132813');
INSERT INTO "trial_user_attributes" VALUES(41,2,'val_ece','0.39441154241561893');
INSERT INTO "trial_user_attributes" VALUES(42,2,'train_loss_running','2.1618146896362305');
INSERT INTO "trial_user_attributes" VALUES(43,2,'train_acc_running','0.20333333333333334');
INSERT INTO "trial_user_attributes" VALUES(44,2,'gap','0.026666666666666616');
INSERT INTO "trial_user_attributes" VALUES(45,2,'nll_gap','0.005040740966796964');
INSERT INTO "trial_user_attributes" VALUES(46,2,'seconds','0.28757580099954794');
INSERT INTO "trial_user_attributes" VALUES(47,3,'worker','"vm:11543:c560b8"');
INSERT INTO "trial_user_attributes" VALUES(48,3,'heartbeat_grace','60');
INSERT INTO "trial_user_attributes" VALUES(49,3,'device','"cpu"');
INSERT INTO "trial_user_attributes" VALUES(50,3,'threads','2');
INSERT INTO "trial_user_attributes" VALUES(51,3,'machine','"AMD EPYC, 2 cores, AVX2"');
INSERT INTO "trial_user_attributes" VALUES(52,3,'trials_together','1');
INSERT INTO "trial_user_attributes" VALUES(53,3,'compiled','false');
INSERT INTO "trial_user_attributes" VALUES(54,3,'resumed_from_epoch','0');
INSERT INTO "trial_user_attributes" VALUES(55,3,'history','[{"epoch": 1, "train_loss_running": 2.1704862117767334, "train_acc_running": 0.20666666666666667, "train_acc": 0.6766666666666666, "train_nll": 1.5222762044270832, "train_loss": 1.6216100056966145, "val_acc": 0.67, "val_nll": 1.5273500061035157, "val_loss": 1.6261355590820312, "val_ece": 0.4253397154808044, "val_bin_count": [0, 0, 22, 48, 20, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, null, 0.5454545454545454, 0.7291666666666666, 0.5, null, 1.0, null, null, null, null, null, null, null, null], "val_bin_conf": [null, null, 0.1672076853838834, 0.22374592224756876, 0.28751895427703855, null, 0.42972760200500487, null, null, null, null, null, null, null, null], "epoch_seconds": 0.19386837999991258, "eval_seconds": 0.07462725100049283, "trials_together": 1}]');
INSERT INTO "trial_user_attributes" VALUES(56,3,'train_acc','0.6766666666666666');
INSERT INTO "trial_user_attributes" VALUES(57,3,'val_acc','0.67');
INSERT INTO "trial_user_attributes" VALUES(58,3,'train_nll','1.5222762044270832');
INSERT INTO "trial_user_attributes" VALUES(59,3,'val_nll','1.5273500061035157');
INSERT INTO "trial_user_attributes" VALUES(60,3,'val_loss','1.6261355590820312');
INSERT INTO "trial_user_attributes" VALUES(61,3,'val_ece','0.4253397154808044');
INSERT INTO "trial_user_attributes" VALUES(62,3,'train_loss_running','2.1704862117767334');
INSERT INTO "trial_user_attributes" VALUES(63,3,'train_acc_running','0.20666666666666667');
INSERT INTO "trial_user_attributes" VALUES(64,3,'gap','0.006666666666666599');
INSERT INTO "trial_user_attributes" VALUES(65,3,'nll_gap','0.0050738016764324545');
INSERT INTO "trial_user_attributes" VALUES(66,3,'seconds','0.2684956310004054');
CREATE TABLE trial_values (
	trial_value_id INTEGER NOT NULL, 
	trial_id INTEGER NOT NULL, 
	objective INTEGER NOT NULL, 
	value FLOAT, 
	value_type VARCHAR(7) NOT NULL, 
	PRIMARY KEY (trial_value_id), 
	UNIQUE (trial_id, objective), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
INSERT INTO "trial_values" VALUES(1,1,0,0.61,'FINITE');
INSERT INTO "trial_values" VALUES(2,2,0,0.64,'FINITE');
INSERT INTO "trial_values" VALUES(3,3,0,0.67,'FINITE');
CREATE TABLE trials (
	trial_id INTEGER NOT NULL, 
	number INTEGER, 
	study_id INTEGER, 
	state VARCHAR(8) NOT NULL, 
	datetime_start DATETIME, 
	datetime_complete DATETIME, 
	PRIMARY KEY (trial_id), 
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
INSERT INTO "trials" VALUES(1,0,1,'COMPLETE','2026-12-07 00:35:39.887696','2026-12-07 05:35:42.292000');
INSERT INTO "trials" VALUES(2,1,1,'COMPLETE','2026-12-07 00:35:42.297998','2026-12-07 05:35:42.612931');
INSERT INTO "trials" VALUES(3,2,1,'COMPLETE','2026-12-07 00:35:42.618067','2026-12-07 05:35:42.912200');
CREATE TABLE version_info (
	version_info_id INTEGER NOT NULL, 
	schema_version INTEGER, 
	library_version VARCHAR(256), 
	PRIMARY KEY (version_info_id), 
	CHECK (version_info_id=1)
);
INSERT INTO "version_info" VALUES(1,12,'5.0.0');
CREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name);
CREATE INDEX ix_trials_study_id ON trials (study_id);
COMMIT;
