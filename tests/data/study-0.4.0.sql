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
INSERT INTO "study_user_attributes" VALUES(1,1,'data_source','"folders:/tmp/tmp4kbz7kff/data"');
INSERT INTO "study_user_attributes" VALUES(2,1,'question','"How does label smoothing change overfitting of a fixed CNN on CIFAR-10?"');
INSERT INTO "study_user_attributes" VALUES(3,1,'protocol','{"epochs": 1, "batch_size": 128, "lr": 0.001, "subset": null, "train_eval_size": 10000, "ece_bins": 15, "precision": "fp32", "data_fingerprint": "de4ccb1474980746", "sampling": "grid", "sweep_version": "0.4.0", "training_revision": 1, "equivalence_margin_pp": 1.0, "equivalence_margin_nats": 0.02}');
INSERT INTO "study_user_attributes" VALUES(4,1,'command:1796130032.534309:21182','"python -m sweep run --trials 2 --epochs 1 --data-dir /tmp/tmp4kbz7kff/data --cache-dir /tmp/tmp4kbz7kff/cache --device cpu --workers 1 --no-report  # sweep 0.4.0"');
CREATE TABLE sweep_blocks (
	study_id INTEGER NOT NULL, 
	seed INTEGER NOT NULL, 
	decided_at DOUBLE NOT NULL, 
	worker VARCHAR(256) NOT NULL, 
	record TEXT NOT NULL, 
	PRIMARY KEY (study_id, seed)
);
CREATE TABLE sweep_cells (
	study_id INTEGER NOT NULL, 
	cell VARCHAR(128) NOT NULL, 
	attempt INTEGER NOT NULL, 
	trial_id INTEGER, 
	worker VARCHAR(256) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	claimed_at DOUBLE NOT NULL, 
	beat_at DOUBLE NOT NULL, 
	grace DOUBLE NOT NULL, 
	PRIMARY KEY (study_id, cell, attempt)
);
INSERT INTO "sweep_cells" VALUES(1,'eps=0/seed=0',0,1,'vm:21182:4692d5','done',1.79613003254400634763e+09,1.79613003254400634763e+09,60.0);
INSERT INTO "sweep_cells" VALUES(1,'eps=0.05/seed=0',0,2,'vm:21182:4692d5','done',1.79613003341400766371e+09,1.79613003341400766371e+09,60.0);
INSERT INTO "sweep_cells" VALUES(1,'eps=0.1/seed=0',0,3,'vm:21138:f911ac','failed',1.79613003527201414103e+09,1.79613003527201414103e+09,60.0);
INSERT INTO "sweep_cells" VALUES(1,'eps=0.2/seed=0',0,4,'vm:21138:f911ac','running',1.79613003529599308963e+09,1.79613003529599308963e+09,60.0);
CREATE TABLE sweep_studies (
	study_name VARCHAR(512) NOT NULL, 
	protocol TEXT NOT NULL, 
	PRIMARY KEY (study_name)
);
INSERT INTO "sweep_studies" VALUES('label-smoothing','{"epochs": 1, "batch_size": 128, "lr": 0.001, "subset": null, "train_eval_size": 10000, "ece_bins": 15, "precision": "fp32", "data_fingerprint": "de4ccb1474980746", "sampling": "grid", "sweep_version": "0.4.0", "training_revision": 1, "equivalence_margin_pp": 1.0, "equivalence_margin_nats": 0.02}');
CREATE TABLE trial_heartbeats (
	trial_heartbeat_id INTEGER NOT NULL, 
	trial_id INTEGER NOT NULL, 
	heartbeat DATETIME NOT NULL, 
	PRIMARY KEY (trial_heartbeat_id), 
	UNIQUE (trial_id), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
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
INSERT INTO "trial_params" VALUES(1,1,'label_smoothing',0.0,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, "high": 0.05, "log": false}}');
INSERT INTO "trial_params" VALUES(2,1,'seed',0.0,'{"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0, "high": 0}}');
INSERT INTO "trial_params" VALUES(3,2,'label_smoothing',0.05,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, "high": 0.05, "log": false}}');
INSERT INTO "trial_params" VALUES(4,2,'seed',0.0,'{"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0, "high": 0}}');
INSERT INTO "trial_params" VALUES(5,3,'label_smoothing',0.1,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, "high": 0.2, "log": false}}');
INSERT INTO "trial_params" VALUES(6,3,'seed',0.0,'{"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0, "high": 0}}');
INSERT INTO "trial_params" VALUES(7,4,'label_smoothing',0.2,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, "high": 0.2, "log": false}}');
INSERT INTO "trial_params" VALUES(8,4,'seed',0.0,'{"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0, "high": 0}}');
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
INSERT INTO "trial_user_attributes" VALUES(3,1,'worker','"vm:21182:4692d5"');
INSERT INTO "trial_user_attributes" VALUES(4,1,'device','"cpu"');
INSERT INTO "trial_user_attributes" VALUES(5,1,'threads','2');
INSERT INTO "trial_user_attributes" VALUES(6,1,'machine','"AMD EPYC, 2 cores, AVX-512 with bf16"');
INSERT INTO "trial_user_attributes" VALUES(7,1,'trials_together','1');
INSERT INTO "trial_user_attributes" VALUES(8,1,'compiled','false');
INSERT INTO "trial_user_attributes" VALUES(9,1,'resumed_from_epoch','0');
INSERT INTO "trial_user_attributes" VALUES(10,1,'history','[{"epoch": 1, "train_loss_running": 2.153083324432373, "train_acc_running": 0.20333333333333334, "train_acc": 0.6166666666666667, "train_nll": 1.5202374267578125, "train_loss": 1.5202374267578125, "val_acc": 0.61, "val_nll": 1.5253546142578125, "val_loss": 1.5253546142578125, "val_ece": 0.3638275527954102, "val_bin_count": [0, 0, 21, 49, 20, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, null, 0.5238095238095238, 0.6122448979591837, 0.5, null, 1.0, null, null, null, null, null, null, null, null], "val_bin_conf": [null, null, 0.16500727335611978, 0.22499347219661792, 0.2896378517150879, null, 0.43346548080444336, null, null, null, null, null, null, null, null], "epoch_seconds": 0.06719962900024257, "eval_seconds": 0.026530811001066468, "trials_together": 1}]');
INSERT INTO "trial_user_attributes" VALUES(11,1,'train_acc','0.6166666666666667');
INSERT INTO "trial_user_attributes" VALUES(12,1,'val_acc','0.61');
INSERT INTO "trial_user_attributes" VALUES(13,1,'train_nll','1.5202374267578125');
INSERT INTO "trial_user_attributes" VALUES(14,1,'val_nll','1.5253546142578125');
INSERT INTO "trial_user_attributes" VALUES(15,1,'val_loss','1.5253546142578125');
INSERT INTO "trial_user_attributes" VALUES(16,1,'val_ece','0.3638275527954102');
INSERT INTO "trial_user_attributes" VALUES(17,1,'train_loss_running','2.153083324432373');
INSERT INTO "trial_user_attributes" VALUES(18,1,'train_acc_running','0.20333333333333334');
INSERT INTO "trial_user_attributes" VALUES(19,1,'gap','0.00666666666666671');
INSERT INTO "trial_user_attributes" VALUES(20,1,'nll_gap','0.005117187500000009');
INSERT INTO "trial_user_attributes" VALUES(21,1,'seconds','0.09373044000130903');
INSERT INTO "trial_user_attributes" VALUES(22,2,'cell','"eps=0.05/seed=0"');
INSERT INTO "trial_user_attributes" VALUES(23,2,'attempt','0');
INSERT INTO "trial_user_attributes" VALUES(24,2,'worker','"vm:21182:4692d5"');
INSERT INTO "trial_user_attributes" VALUES(25,2,'device','"cpu"');
INSERT INTO "trial_user_attributes" VALUES(26,2,'threads','2');
INSERT INTO "trial_user_attributes" VALUES(27,2,'machine','"AMD EPYC, 2 cores, AVX-512 with bf16"');
INSERT INTO "trial_user_attributes" VALUES(28,2,'trials_together','1');
INSERT INTO "trial_user_attributes" VALUES(29,2,'compiled','false');
INSERT INTO "trial_user_attributes" VALUES(30,2,'resumed_from_epoch','0');
INSERT INTO "trial_user_attributes" VALUES(31,2,'history','[{"epoch": 1, "train_loss_running": 2.1618146896362305, "train_acc_running": 0.20333333333333334, "train_acc": 0.6666666666666666, "train_nll": 1.5216168212890624, "train_loss": 1.5714961751302083, "val_acc": 0.64, "val_nll": 1.5266575622558594, "val_loss": 1.5762648010253906, "val_ece": 0.3944115567207336, "val_bin_count": [0, 0, 21, 48, 21, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, null, 0.47619047619047616, 0.6875, 0.5238095238095238, null, 1.0, null, null, null, null, null, null, null, null], "val_bin_conf": [null, null, 0.16562728654770625, 0.22328432401021323, 0.28783053443545387, null, 0.4318582534790039, null, null, null, null, null, null, null, null], "epoch_seconds": 0.05264093400001002, "eval_seconds": 0.020555725001031533, "trials_together": 1}]');
INSERT INTO "trial_user_attributes" VALUES(32,2,'train_acc','0.6666666666666666');
INSERT INTO "trial_user_attributes" VALUES(33,2,'val_acc','0.64');
INSERT INTO "trial_user_attributes" VALUES(34,2,'train_nll','1.5216168212890624');
INSERT INTO "trial_user_attributes" VALUES(35,2,'val_nll','1.5266575622558594');
INSERT INTO "trial_user_attributes" VALUES(36,2,'val_loss','1.5762648010253906');
INSERT INTO "trial_user_attributes" VALUES(37,2,'val_ece','0.3944115567207336');
INSERT INTO "trial_user_attributes" VALUES(38,2,'train_loss_running','2.1618146896362305');
INSERT INTO "trial_user_attributes" VALUES(39,2,'train_acc_running','0.20333333333333334');
INSERT INTO "trial_user_attributes" VALUES(40,2,'gap','0.026666666666666616');
INSERT INTO "trial_user_attributes" VALUES(41,2,'nll_gap','0.005040740966796964');
INSERT INTO "trial_user_attributes" VALUES(42,2,'seconds','0.07319665900104155');
INSERT INTO "trial_user_attributes" VALUES(43,3,'cell','"eps=0.1/seed=0"');
INSERT INTO "trial_user_attributes" VALUES(44,3,'attempt','0');
INSERT INTO "trial_user_attributes" VALUES(45,3,'worker','"vm:21138:f911ac"');
INSERT INTO "trial_user_attributes" VALUES(46,4,'cell','"eps=0.2/seed=0"');
INSERT INTO "trial_user_attributes" VALUES(47,4,'attempt','0');
INSERT INTO "trial_user_attributes" VALUES(48,4,'worker','"vm:21138:f911ac"');
INSERT INTO "trial_user_attributes" VALUES(49,3,'interrupted','true');
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
INSERT INTO "trials" VALUES(1,0,1,'COMPLETE','2026-12-01 13:00:32.547727','2026-12-01 13:00:33.409473');
INSERT INTO "trials" VALUES(2,1,1,'COMPLETE','2026-12-01 13:00:33.584073','2026-12-01 13:00:33.707824');
INSERT INTO "trials" VALUES(3,2,1,'FAIL','2026-12-01 13:00:35.280978','2026-12-01 13:00:35.314149');
INSERT INTO "trials" VALUES(4,3,1,'RUNNING','2026-12-01 13:00:35.301140',NULL);
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
