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
INSERT INTO "studies" VALUES(1,'golden');
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
INSERT INTO "study_system_attributes" VALUES(2,1,'dashboard:note_ver','1');
INSERT INTO "study_system_attributes" VALUES(3,1,'dashboard:note_str:0','"# Report\n\nPlots and tables: `/tmp/golden/reports/README.md` (written by `python -m sweep report`).\n"');
CREATE TABLE study_user_attributes (
	study_user_attribute_id INTEGER NOT NULL, 
	study_id INTEGER, 
	"key" VARCHAR(512), 
	value_json TEXT, 
	PRIMARY KEY (study_user_attribute_id), 
	UNIQUE (study_id, "key"), 
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
INSERT INTO "study_user_attributes" VALUES(1,1,'data_source','"folders:/tmp/done/cifar10-jpeg"');
INSERT INTO "study_user_attributes" VALUES(2,1,'question','"How does label smoothing change overfitting of a fixed CNN on CIFAR-10?"');
INSERT INTO "study_user_attributes" VALUES(3,1,'protocol','{"epochs": 3, "batch_size": 128, "lr": 0.001, "subset": 1000, "train_eval_size": 10000, "ece_bins": 15, "precision": "fp32", "data_fingerprint": "ae3bcfea977962c9", "sampling": "grid", "sweep_version": "0.6.0", "training_revision": 1, "equivalence_margin_pp": 1.0, "equivalence_margin_nats": 0.02, "primary": "gap"}');
INSERT INTO "study_user_attributes" VALUES(4,1,'command:1796647171.780222:31475','"python -m sweep run --trials 12 --epochs 3 --subset 1000 --epsilons 0,0.1,0.2 --device cpu --workers 1 --data-dir /tmp/done/cifar10-jpeg --cache-dir /tmp/small/jcache --study-name golden  # sweep 0.6.0"');
CREATE TABLE sweep_attempts (
	study_id INTEGER NOT NULL, 
	cell VARCHAR(128) NOT NULL, 
	attempt INTEGER NOT NULL, 
	trial_id INTEGER NOT NULL, 
	PRIMARY KEY (study_id, cell, attempt)
);
INSERT INTO "sweep_attempts" VALUES(1,'eps=0/seed=0',0,1);
INSERT INTO "sweep_attempts" VALUES(1,'eps=0.1/seed=0',0,2);
INSERT INTO "sweep_attempts" VALUES(1,'eps=0.2/seed=0',0,3);
INSERT INTO "sweep_attempts" VALUES(1,'eps=0/seed=1',0,4);
INSERT INTO "sweep_attempts" VALUES(1,'eps=0.1/seed=1',0,5);
INSERT INTO "sweep_attempts" VALUES(1,'eps=0.2/seed=1',0,6);
INSERT INTO "sweep_attempts" VALUES(1,'eps=0/seed=2',0,7);
INSERT INTO "sweep_attempts" VALUES(1,'eps=0.1/seed=2',0,8);
INSERT INTO "sweep_attempts" VALUES(1,'eps=0.2/seed=2',0,9);
INSERT INTO "sweep_attempts" VALUES(1,'eps=0/seed=3',0,10);
INSERT INTO "sweep_attempts" VALUES(1,'eps=0.1/seed=3',0,11);
INSERT INTO "sweep_attempts" VALUES(1,'eps=0.2/seed=3',0,12);
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
INSERT INTO "sweep_studies" VALUES('golden','{"epochs": 3, "batch_size": 128, "lr": 0.001, "subset": 1000, "train_eval_size": 10000, "ece_bins": 15, "precision": "fp32", "data_fingerprint": "ae3bcfea977962c9", "sampling": "grid", "sweep_version": "0.6.0", "training_revision": 1, "equivalence_margin_pp": 1.0, "equivalence_margin_nats": 0.02, "primary": "gap"}');
CREATE TABLE trial_heartbeats (
	trial_heartbeat_id INTEGER NOT NULL, 
	trial_id INTEGER NOT NULL, 
	heartbeat DATETIME NOT NULL, 
	PRIMARY KEY (trial_heartbeat_id), 
	UNIQUE (trial_id), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
INSERT INTO "trial_heartbeats" VALUES(1,1,'2026-12-07 12:39:31.853');
INSERT INTO "trial_heartbeats" VALUES(2,2,'2026-12-07 12:39:39.886');
INSERT INTO "trial_heartbeats" VALUES(3,3,'2026-12-07 12:39:51.854');
INSERT INTO "trial_heartbeats" VALUES(4,4,'2026-12-07 12:39:51.897');
INSERT INTO "trial_heartbeats" VALUES(5,5,'2026-12-07 12:39:58.321');
INSERT INTO "trial_heartbeats" VALUES(6,6,'2026-12-07 12:40:04.319');
INSERT INTO "trial_heartbeats" VALUES(7,7,'2026-12-07 12:40:11.869');
INSERT INTO "trial_heartbeats" VALUES(8,8,'2026-12-07 12:40:17.913');
INSERT INTO "trial_heartbeats" VALUES(9,9,'2026-12-07 12:40:24.351');
INSERT INTO "trial_heartbeats" VALUES(10,10,'2026-12-07 12:40:31.877');
INSERT INTO "trial_heartbeats" VALUES(11,11,'2026-12-07 12:40:37.404');
INSERT INTO "trial_heartbeats" VALUES(12,12,'2026-12-07 12:40:43.664');
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
INSERT INTO "trial_intermediate_values" VALUES(1,1,1,0.255,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(2,1,2,0.315,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(3,1,3,0.345,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(4,2,1,0.25,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(5,2,2,0.32,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(6,2,3,0.345,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(7,3,1,0.25,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(8,3,2,0.325,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(9,3,3,0.33,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(10,4,1,0.23,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(11,4,2,0.255,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(12,4,3,0.305,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(13,5,1,0.22,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(14,5,2,0.255,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(15,5,3,0.33,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(16,6,1,0.225,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(17,6,2,0.285,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(18,6,3,0.315,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(19,7,1,0.26,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(20,7,2,0.315,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(21,7,3,0.325,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(22,8,1,0.26,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(23,8,2,0.305,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(24,8,3,0.305,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(25,9,1,0.26,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(26,9,2,0.315,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(27,9,3,0.31,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(28,10,1,0.27,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(29,10,2,0.295,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(30,10,3,0.31,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(31,11,1,0.265,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(32,11,2,0.33,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(33,11,3,0.325,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(34,12,1,0.265,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(35,12,2,0.315,'FINITE');
INSERT INTO "trial_intermediate_values" VALUES(36,12,3,0.31,'FINITE');
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
INSERT INTO "trial_params" VALUES(1,1,'label_smoothing',0.0,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, "high": 0.2, "log": false}}');
INSERT INTO "trial_params" VALUES(2,1,'seed',0.0,'{"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0, "high": 3}}');
INSERT INTO "trial_params" VALUES(3,2,'label_smoothing',0.1,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, "high": 0.2, "log": false}}');
INSERT INTO "trial_params" VALUES(4,2,'seed',0.0,'{"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0, "high": 3}}');
INSERT INTO "trial_params" VALUES(5,3,'label_smoothing',0.2,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, "high": 0.2, "log": false}}');
INSERT INTO "trial_params" VALUES(6,3,'seed',0.0,'{"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0, "high": 3}}');
INSERT INTO "trial_params" VALUES(7,4,'label_smoothing',0.0,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, "high": 0.2, "log": false}}');
INSERT INTO "trial_params" VALUES(8,4,'seed',1.0,'{"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0, "high": 3}}');
INSERT INTO "trial_params" VALUES(9,5,'label_smoothing',0.1,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, "high": 0.2, "log": false}}');
INSERT INTO "trial_params" VALUES(10,5,'seed',1.0,'{"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0, "high": 3}}');
INSERT INTO "trial_params" VALUES(11,6,'label_smoothing',0.2,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, "high": 0.2, "log": false}}');
INSERT INTO "trial_params" VALUES(12,6,'seed',1.0,'{"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0, "high": 3}}');
INSERT INTO "trial_params" VALUES(13,7,'label_smoothing',0.0,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, "high": 0.2, "log": false}}');
INSERT INTO "trial_params" VALUES(14,7,'seed',2.0,'{"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0, "high": 3}}');
INSERT INTO "trial_params" VALUES(15,8,'label_smoothing',0.1,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, "high": 0.2, "log": false}}');
INSERT INTO "trial_params" VALUES(16,8,'seed',2.0,'{"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0, "high": 3}}');
INSERT INTO "trial_params" VALUES(17,9,'label_smoothing',0.2,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, "high": 0.2, "log": false}}');
INSERT INTO "trial_params" VALUES(18,9,'seed',2.0,'{"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0, "high": 3}}');
INSERT INTO "trial_params" VALUES(19,10,'label_smoothing',0.0,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, "high": 0.2, "log": false}}');
INSERT INTO "trial_params" VALUES(20,10,'seed',3.0,'{"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0, "high": 3}}');
INSERT INTO "trial_params" VALUES(21,11,'label_smoothing',0.1,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, "high": 0.2, "log": false}}');
INSERT INTO "trial_params" VALUES(22,11,'seed',3.0,'{"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0, "high": 3}}');
INSERT INTO "trial_params" VALUES(23,12,'label_smoothing',0.2,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0, "high": 0.2, "log": false}}');
INSERT INTO "trial_params" VALUES(24,12,'seed',3.0,'{"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0, "high": 3}}');
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
INSERT INTO "trial_user_attributes" VALUES(3,2,'cell','"eps=0.1/seed=0"');
INSERT INTO "trial_user_attributes" VALUES(4,2,'attempt','0');
INSERT INTO "trial_user_attributes" VALUES(5,3,'cell','"eps=0.2/seed=0"');
INSERT INTO "trial_user_attributes" VALUES(6,3,'attempt','0');
INSERT INTO "trial_user_attributes" VALUES(7,4,'cell','"eps=0/seed=1"');
INSERT INTO "trial_user_attributes" VALUES(8,4,'attempt','0');
INSERT INTO "trial_user_attributes" VALUES(9,5,'cell','"eps=0.1/seed=1"');
INSERT INTO "trial_user_attributes" VALUES(10,5,'attempt','0');
INSERT INTO "trial_user_attributes" VALUES(11,6,'cell','"eps=0.2/seed=1"');
INSERT INTO "trial_user_attributes" VALUES(12,6,'attempt','0');
INSERT INTO "trial_user_attributes" VALUES(13,7,'cell','"eps=0/seed=2"');
INSERT INTO "trial_user_attributes" VALUES(14,7,'attempt','0');
INSERT INTO "trial_user_attributes" VALUES(15,8,'cell','"eps=0.1/seed=2"');
INSERT INTO "trial_user_attributes" VALUES(16,8,'attempt','0');
INSERT INTO "trial_user_attributes" VALUES(17,9,'cell','"eps=0.2/seed=2"');
INSERT INTO "trial_user_attributes" VALUES(18,9,'attempt','0');
INSERT INTO "trial_user_attributes" VALUES(19,10,'cell','"eps=0/seed=3"');
INSERT INTO "trial_user_attributes" VALUES(20,10,'attempt','0');
INSERT INTO "trial_user_attributes" VALUES(21,11,'cell','"eps=0.1/seed=3"');
INSERT INTO "trial_user_attributes" VALUES(22,11,'attempt','0');
INSERT INTO "trial_user_attributes" VALUES(23,12,'cell','"eps=0.2/seed=3"');
INSERT INTO "trial_user_attributes" VALUES(24,12,'attempt','0');
INSERT INTO "trial_user_attributes" VALUES(25,1,'worker','"vm:31475:95dc9d"');
INSERT INTO "trial_user_attributes" VALUES(26,1,'heartbeat_grace','60');
INSERT INTO "trial_user_attributes" VALUES(27,1,'device','"cpu"');
INSERT INTO "trial_user_attributes" VALUES(28,1,'threads','2');
INSERT INTO "trial_user_attributes" VALUES(29,1,'machine','"AMD EPYC, 2 cores, AVX2"');
INSERT INTO "trial_user_attributes" VALUES(30,1,'trials_together','1');
INSERT INTO "trial_user_attributes" VALUES(31,1,'compiled','false');
INSERT INTO "trial_user_attributes" VALUES(32,1,'resumed_from_epoch','0');
INSERT INTO "trial_user_attributes" VALUES(33,1,'history','[{"epoch": 1, "train_loss_running": 2.256129503250122, "train_acc_running": 0.153, "train_acc": 0.237, "train_nll": 2.12068701171875, "train_loss": 2.12068701171875, "val_acc": 0.255, "val_nll": 2.124447021484375, "val_loss": 2.1244471740722655, "val_ece": 0.07108825206756592, "val_bin_count": [0, 22, 114, 43, 12, 5, 4, 0, 0, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.13636363636363635, 0.2543859649122807, 0.20930232558139536, 0.5, 0.4, 0.5, null, null, null, null, null, null, null, null], "val_bin_conf": [null, 0.1277970942583951, 0.16340413009911253, 0.22665365352187045, 0.30106141169865924, 0.3500643730163574, 0.43144774436950684, null, null, null, null, null, null, null, null], "epoch_seconds": 2.9260665850015357, "eval_seconds": 0.736767795002379, "trials_together": 1}, {"epoch": 2, "train_loss_running": 2.036489963531494, "train_acc_running": 0.284, "train_acc": 0.338, "train_nll": 1.903520263671875, "train_loss": 1.903520263671875, "val_acc": 0.315, "val_nll": 1.9580191040039063, "val_loss": 1.9580191040039063, "val_ece": 0.08674320280551907, "val_bin_count": [0, 0, 62, 79, 40, 17, 1, 0, 0, 1, 0, 0, 0, 0, 0], "val_bin_acc": [null, null, 0.27419354838709675, 0.26582278481012656, 0.35, 0.6470588235294118, 0.0, null, null, 0.0, null, null, null, null, null], "val_bin_conf": [null, null, 0.17387204016408614, 0.23049731194218503, 0.29071404933929446, 0.35832823024076577, 0.4260532259941101, null, null, 0.6320833563804626, null, null, null, null, null], "epoch_seconds": 0.8454922289965907, "eval_seconds": 0.2978012400053558, "trials_together": 1}, {"epoch": 3, "train_loss_running": 1.8592926263809204, "train_acc_running": 0.344, "train_acc": 0.4, "train_nll": 1.73549609375, "train_loss": 1.73549609375, "val_acc": 0.345, "val_nll": 1.849609375, "val_loss": 1.849609375, "val_ece": 0.07432088673114777, "val_bin_count": [0, 0, 23, 75, 41, 34, 13, 6, 3, 3, 2, 0, 0, 0, 0], "val_bin_acc": [null, null, 0.2608695652173913, 0.26666666666666666, 0.36585365853658536, 0.29411764705882354, 0.7692307692307693, 0.5, 0.6666666666666666, 0.6666666666666666, 0.5, null, null, null, null], "val_bin_conf": [null, null, 0.1845944238745648, 0.22911463419596353, 0.3006260336899176, 0.3648355147417854, 0.4276609787574181, 0.5038739840189616, 0.567902684211731, 0.646615743637085, 0.6973053216934204, null, null, null, null], "epoch_seconds": 0.7787368680001236, "eval_seconds": 0.2704473359990516, "trials_together": 1}]');
INSERT INTO "trial_user_attributes" VALUES(34,1,'train_acc','0.4');
INSERT INTO "trial_user_attributes" VALUES(35,1,'val_acc','0.345');
INSERT INTO "trial_user_attributes" VALUES(36,1,'train_nll','1.73549609375');
INSERT INTO "trial_user_attributes" VALUES(37,1,'val_nll','1.849609375');
INSERT INTO "trial_user_attributes" VALUES(38,1,'val_loss','1.849609375');
INSERT INTO "trial_user_attributes" VALUES(39,1,'val_ece','0.07432088673114777');
INSERT INTO "trial_user_attributes" VALUES(40,1,'train_loss_running','1.8592926263809204');
INSERT INTO "trial_user_attributes" VALUES(41,1,'train_acc_running','0.344');
INSERT INTO "trial_user_attributes" VALUES(42,1,'gap','0.05500000000000005');
INSERT INTO "trial_user_attributes" VALUES(43,1,'nll_gap','0.11411328125000009');
INSERT INTO "trial_user_attributes" VALUES(44,1,'seconds','5.855312053005036');
INSERT INTO "trial_user_attributes" VALUES(45,2,'worker','"vm:31475:95dc9d"');
INSERT INTO "trial_user_attributes" VALUES(46,2,'heartbeat_grace','60');
INSERT INTO "trial_user_attributes" VALUES(47,2,'device','"cpu"');
INSERT INTO "trial_user_attributes" VALUES(48,2,'threads','2');
INSERT INTO "trial_user_attributes" VALUES(49,2,'machine','"AMD EPYC, 2 cores, AVX2"');
INSERT INTO "trial_user_attributes" VALUES(50,2,'trials_together','1');
INSERT INTO "trial_user_attributes" VALUES(51,2,'compiled','false');
INSERT INTO "trial_user_attributes" VALUES(52,2,'resumed_from_epoch','0');
INSERT INTO "trial_user_attributes" VALUES(53,2,'history','[{"epoch": 1, "train_loss_running": 2.2637083530426025, "train_acc_running": 0.154, "train_acc": 0.243, "train_nll": 2.127849853515625, "train_loss": 2.153763671875, "val_acc": 0.25, "val_nll": 2.1328280639648436, "val_loss": 2.157839050292969, "val_ece": 0.07263726651668546, "val_bin_count": [0, 26, 122, 33, 14, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.11538461538461539, 0.23770491803278687, 0.2727272727272727, 0.42857142857142855, 0.75, 0.0, null, null, null, null, null, null, null, null], "val_bin_conf": [null, 0.128387267772968, 0.1654265669525647, 0.2249866109905821, 0.29293755122593473, 0.3809487223625183, 0.420904278755188, null, null, null, null, null, null, null, null], "epoch_seconds": 2.7102516979939537, "eval_seconds": 1.306463500004611, "trials_together": 1}, {"epoch": 2, "train_loss_running": 2.0833187103271484, "train_acc_running": 0.292, "train_acc": 0.364, "train_nll": 1.9039371337890625, "train_loss": 1.971600830078125, "val_acc": 0.32, "val_nll": 1.9588156127929688, "val_loss": 2.0196661376953124, "val_ece": 0.10473966419696809, "val_bin_count": [0, 0, 78, 83, 29, 8, 1, 0, 0, 1, 0, 0, 0, 0, 0], "val_bin_acc": [null, null, 0.2692307692307692, 0.30120481927710846, 0.4482758620689655, 0.625, 0.0, null, null, 0.0, null, null, null, null, null], "val_bin_conf": [null, null, 0.17125709240253156, 0.2330277684223221, 0.29506860930344153, 0.35391345620155334, 0.42071592807769775, null, null, 0.6148722171783447, null, null, null, null, null], "epoch_seconds": 0.7543306039951858, "eval_seconds": 0.2748583860011422, "trials_together": 1}, {"epoch": 3, "train_loss_running": 1.9337372779846191, "train_acc_running": 0.343, "train_acc": 0.416, "train_nll": 1.7230848388671876, "train_loss": 1.822412353515625, "val_acc": 0.345, "val_nll": 1.840137939453125, "val_loss": 1.9265306091308594, "val_ece": 0.07608624838292598, "val_bin_count": [0, 1, 39, 60, 51, 28, 10, 5, 2, 3, 1, 0, 0, 0, 0], "val_bin_acc": [null, 0.0, 0.23076923076923078, 0.31666666666666665, 0.29411764705882354, 0.4642857142857143, 0.7, 0.4, 1.0, 0.6666666666666666, 0.0, null, null, null, null], "val_bin_conf": [null, 0.1254080981016159, 0.17843209780179536, 0.22721966107686362, 0.2938554053213082, 0.36181156975882395, 0.43340635299682617, 0.49155464172363283, 0.5622512102127075, 0.6263928810755411, 0.6811940670013428, null, null, null, null], "epoch_seconds": 0.7499711400014348, "eval_seconds": 0.2529913469988969, "trials_together": 1}]');
INSERT INTO "trial_user_attributes" VALUES(54,2,'train_acc','0.416');
INSERT INTO "trial_user_attributes" VALUES(55,2,'val_acc','0.345');
INSERT INTO "trial_user_attributes" VALUES(56,2,'train_nll','1.7230848388671876');
INSERT INTO "trial_user_attributes" VALUES(57,2,'val_nll','1.840137939453125');
INSERT INTO "trial_user_attributes" VALUES(58,2,'val_loss','1.9265306091308594');
INSERT INTO "trial_user_attributes" VALUES(59,2,'val_ece','0.07608624838292598');
INSERT INTO "trial_user_attributes" VALUES(60,2,'train_loss_running','1.9337372779846191');
INSERT INTO "trial_user_attributes" VALUES(61,2,'train_acc_running','0.343');
INSERT INTO "trial_user_attributes" VALUES(62,2,'gap','0.07100000000000001');
INSERT INTO "trial_user_attributes" VALUES(63,2,'nll_gap','0.11705310058593743');
INSERT INTO "trial_user_attributes" VALUES(64,2,'seconds','6.0488666749952245');
INSERT INTO "trial_user_attributes" VALUES(65,3,'worker','"vm:31475:95dc9d"');
INSERT INTO "trial_user_attributes" VALUES(66,3,'heartbeat_grace','60');
INSERT INTO "trial_user_attributes" VALUES(67,3,'device','"cpu"');
INSERT INTO "trial_user_attributes" VALUES(68,3,'threads','2');
INSERT INTO "trial_user_attributes" VALUES(69,3,'machine','"AMD EPYC, 2 cores, AVX2"');
INSERT INTO "trial_user_attributes" VALUES(70,3,'trials_together','1');
INSERT INTO "trial_user_attributes" VALUES(71,3,'compiled','false');
INSERT INTO "trial_user_attributes" VALUES(72,3,'resumed_from_epoch','0');
INSERT INTO "trial_user_attributes" VALUES(73,3,'history','[{"epoch": 1, "train_loss_running": 2.270150899887085, "train_acc_running": 0.156, "train_acc": 0.244, "train_nll": 2.130861083984375, "train_loss": 2.17916162109375, "val_acc": 0.25, "val_nll": 2.1359071350097656, "val_loss": 2.1825273132324217, "val_ece": 0.07489866018295288, "val_bin_count": [0, 29, 130, 31, 6, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.13793103448275862, 0.23846153846153847, 0.3548387096774194, 0.3333333333333333, 0.5, null, null, null, null, null, null, null, null, null], "val_bin_conf": [null, 0.1264465019620698, 0.1621668155376728, 0.22838570994715537, 0.29011019070943195, 0.36275380849838257, null, null, null, null, null, null, null, null, null], "epoch_seconds": 2.9433100759997615, "eval_seconds": 0.6597291380021488, "trials_together": 1}, {"epoch": 2, "train_loss_running": 2.1238338947296143, "train_acc_running": 0.29, "train_acc": 0.361, "train_nll": 1.913965576171875, "train_loss": 2.0371593017578125, "val_acc": 0.325, "val_nll": 1.9694912719726563, "val_loss": 2.0796742248535156, "val_ece": 0.1179970082640648, "val_bin_count": [0, 3, 84, 78, 26, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.0, 0.2619047619047619, 0.3717948717948718, 0.38461538461538464, 0.5, null, 0.0, null, null, null, null, null, null, null], "val_bin_conf": [null, 0.12840676307678223, 0.16699596813746861, 0.23040255522116637, 0.2886684491084172, 0.3518006503582001, null, 0.5330268740653992, null, null, null, null, null, null, null], "epoch_seconds": 0.756927207003173, "eval_seconds": 0.2529265150005813, "trials_together": 1}, {"epoch": 3, "train_loss_running": 2.0095670223236084, "train_acc_running": 0.35, "train_acc": 0.418, "train_nll": 1.756079345703125, "train_loss": 1.925579345703125, "val_acc": 0.33, "val_nll": 1.8595674133300781, "val_loss": 2.0068841552734376, "val_ece": 0.08327830567955971, "val_bin_count": [0, 2, 54, 68, 47, 14, 9, 3, 3, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.0, 0.2037037037037037, 0.3382352941176471, 0.2978723404255319, 0.6428571428571429, 0.5555555555555556, 1.0, 0.3333333333333333, null, null, null, null, null, null], "val_bin_conf": [null, 0.12769795954227448, 0.1763292771798593, 0.22830633556141572, 0.2960044373857214, 0.3585585526057652, 0.42212258444892037, 0.494797150293986, 0.5541333357493082, null, null, null, null, null, null], "epoch_seconds": 0.7543663820033544, "eval_seconds": 0.256985354993958, "trials_together": 1}]');
INSERT INTO "trial_user_attributes" VALUES(74,3,'train_acc','0.418');
INSERT INTO "trial_user_attributes" VALUES(75,3,'val_acc','0.33');
INSERT INTO "trial_user_attributes" VALUES(76,3,'train_nll','1.756079345703125');
INSERT INTO "trial_user_attributes" VALUES(77,3,'val_nll','1.8595674133300781');
INSERT INTO "trial_user_attributes" VALUES(78,3,'val_loss','2.0068841552734376');
INSERT INTO "trial_user_attributes" VALUES(79,3,'val_ece','0.08327830567955971');
INSERT INTO "trial_user_attributes" VALUES(80,3,'train_loss_running','2.0095670223236084');
INSERT INTO "trial_user_attributes" VALUES(81,3,'train_acc_running','0.35');
INSERT INTO "trial_user_attributes" VALUES(82,3,'gap','0.08799999999999997');
INSERT INTO "trial_user_attributes" VALUES(83,3,'nll_gap','0.10348806762695317');
INSERT INTO "trial_user_attributes" VALUES(84,3,'seconds','5.624244673002977');
INSERT INTO "trial_user_attributes" VALUES(85,4,'worker','"vm:31475:95dc9d"');
INSERT INTO "trial_user_attributes" VALUES(86,4,'heartbeat_grace','60');
INSERT INTO "trial_user_attributes" VALUES(87,4,'device','"cpu"');
INSERT INTO "trial_user_attributes" VALUES(88,4,'threads','2');
INSERT INTO "trial_user_attributes" VALUES(89,4,'machine','"AMD EPYC, 2 cores, AVX2"');
INSERT INTO "trial_user_attributes" VALUES(90,4,'trials_together','1');
INSERT INTO "trial_user_attributes" VALUES(91,4,'compiled','false');
INSERT INTO "trial_user_attributes" VALUES(92,4,'resumed_from_epoch','0');
INSERT INTO "trial_user_attributes" VALUES(93,4,'history','[{"epoch": 1, "train_loss_running": 2.2686848640441895, "train_acc_running": 0.143, "train_acc": 0.242, "train_nll": 2.15002978515625, "train_loss": 2.15002978515625, "val_acc": 0.23, "val_nll": 2.1610258483886717, "val_loss": 2.1610256958007814, "val_ece": 0.06305799961090088, "val_bin_count": [0, 41, 129, 25, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.21951219512195122, 0.18604651162790697, 0.4, 0.6, null, null, null, null, null, null, null, null, null, null], "val_bin_conf": [null, 0.12509616991368736, 0.1636106062305066, 0.22912450790405273, 0.28511524200439453, null, null, null, null, null, null, null, null, null, null], "epoch_seconds": 2.4194106809954974, "eval_seconds": 0.6880306860039127, "trials_together": 1}, {"epoch": 2, "train_loss_running": 2.0830793380737305, "train_acc_running": 0.256, "train_acc": 0.303, "train_nll": 1.969069091796875, "train_loss": 1.969069091796875, "val_acc": 0.255, "val_nll": 2.004944152832031, "val_loss": 2.004944152832031, "val_ece": 0.054405430257320406, "val_bin_count": [0, 1, 92, 51, 24, 9, 10, 6, 3, 3, 1, 0, 0, 0, 0], "val_bin_acc": [null, 0.0, 0.18478260869565216, 0.27450980392156865, 0.25, 0.1111111111111111, 0.5, 0.3333333333333333, 1.0, 0.6666666666666666, 1.0, null, null, null, null], "val_bin_conf": [null, 0.12909430265426636, 0.16811668354531992, 0.22878145704082414, 0.30369706948598224, 0.35646894243028426, 0.4243130683898926, 0.4953876733779907, 0.5621971289316813, 0.6400531133015951, 0.732813835144043, null, null, null, null], "epoch_seconds": 0.8434764439953142, "eval_seconds": 0.2690518420058652, "trials_together": 1}, {"epoch": 3, "train_loss_running": 1.957172155380249, "train_acc_running": 0.301, "train_acc": 0.375, "train_nll": 1.801635986328125, "train_loss": 1.8016357421875, "val_acc": 0.305, "val_nll": 1.8902740478515625, "val_loss": 1.8902740478515625, "val_ece": 0.08227151647210121, "val_bin_count": [0, 3, 64, 54, 33, 24, 14, 7, 1, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.0, 0.21875, 0.2037037037037037, 0.3939393939393939, 0.2916666666666667, 0.7142857142857143, 0.8571428571428571, 0.0, null, null, null, null, null, null], "val_bin_conf": [null, 0.12785481413205466, 0.17348727583885193, 0.22708440709997108, 0.3001104990641276, 0.36878228187561035, 0.43443022455487934, 0.5005324908665248, 0.5499888062477112, null, null, null, null, null, null], "epoch_seconds": 1.7455638859973988, "eval_seconds": 0.30415525900025386, "trials_together": 1}]');
INSERT INTO "trial_user_attributes" VALUES(94,4,'train_acc','0.375');
INSERT INTO "trial_user_attributes" VALUES(95,4,'val_acc','0.305');
INSERT INTO "trial_user_attributes" VALUES(96,4,'train_nll','1.801635986328125');
INSERT INTO "trial_user_attributes" VALUES(97,4,'val_nll','1.8902740478515625');
INSERT INTO "trial_user_attributes" VALUES(98,4,'val_loss','1.8902740478515625');
INSERT INTO "trial_user_attributes" VALUES(99,4,'val_ece','0.08227151647210121');
INSERT INTO "trial_user_attributes" VALUES(100,4,'train_loss_running','1.957172155380249');
INSERT INTO "trial_user_attributes" VALUES(101,4,'train_acc_running','0.301');
INSERT INTO "trial_user_attributes" VALUES(102,4,'gap','0.07');
INSERT INTO "trial_user_attributes" VALUES(103,4,'nll_gap','0.08863806152343745');
INSERT INTO "trial_user_attributes" VALUES(104,4,'seconds','6.269688797998242');
INSERT INTO "trial_user_attributes" VALUES(105,5,'worker','"vm:31475:95dc9d"');
INSERT INTO "trial_user_attributes" VALUES(106,5,'heartbeat_grace','60');
INSERT INTO "trial_user_attributes" VALUES(107,5,'device','"cpu"');
INSERT INTO "trial_user_attributes" VALUES(108,5,'threads','2');
INSERT INTO "trial_user_attributes" VALUES(109,5,'machine','"AMD EPYC, 2 cores, AVX2"');
INSERT INTO "trial_user_attributes" VALUES(110,5,'trials_together','1');
INSERT INTO "trial_user_attributes" VALUES(111,5,'compiled','false');
INSERT INTO "trial_user_attributes" VALUES(112,5,'resumed_from_epoch','0');
INSERT INTO "trial_user_attributes" VALUES(113,5,'history','[{"epoch": 1, "train_loss_running": 2.2751712799072266, "train_acc_running": 0.154, "train_acc": 0.229, "train_nll": 2.157434326171875, "train_loss": 2.176818115234375, "val_acc": 0.22, "val_nll": 2.1694760131835937, "val_loss": 2.187147674560547, "val_ece": 0.057781661748886104, "val_bin_count": [0, 48, 125, 23, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.20833333333333334, 0.176, 0.43478260869565216, 0.5, null, null, null, null, null, null, null, null, null, null], "val_bin_conf": [null, 0.12479848663012187, 0.16126838684082032, 0.22571978361710257, 0.27580922842025757, null, null, null, null, null, null, null, null, null, null], "epoch_seconds": 2.9867924339996534, "eval_seconds": 0.7119083510042401, "trials_together": 1}, {"epoch": 2, "train_loss_running": 2.1242096424102783, "train_acc_running": 0.25, "train_acc": 0.307, "train_nll": 1.973261474609375, "train_loss": 2.0299954833984377, "val_acc": 0.255, "val_nll": 2.01062255859375, "val_loss": 2.0611956787109373, "val_ece": 0.07748722910881042, "val_bin_count": [0, 4, 103, 41, 29, 9, 8, 1, 4, 0, 1, 0, 0, 0, 0], "val_bin_acc": [null, 0.0, 0.1941747572815534, 0.34146341463414637, 0.13793103448275862, 0.4444444444444444, 0.5, 1.0, 0.75, null, 1.0, null, null, null, null], "val_bin_conf": [null, 0.1297018676996231, 0.16476766345570387, 0.225979060661502, 0.29386240860511514, 0.3761740525563558, 0.4403977394104004, 0.5128118991851807, 0.5546849966049194, null, 0.6668604016304016, null, null, null, null], "epoch_seconds": 0.7485555989987915, "eval_seconds": 0.25885976599965943, "trials_together": 1}, {"epoch": 3, "train_loss_running": 2.0185210704803467, "train_acc_running": 0.298, "train_acc": 0.391, "train_nll": 1.820422607421875, "train_loss": 1.892641845703125, "val_acc": 0.33, "val_nll": 1.9049993896484374, "val_loss": 1.9678323364257813, "val_ece": 0.09607421904802323, "val_bin_count": [0, 4, 77, 52, 38, 17, 9, 2, 1, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.25, 0.24675324675324675, 0.3076923076923077, 0.2894736842105263, 0.5882352941176471, 0.7777777777777778, 1.0, 0.0, null, null, null, null, null, null], "val_bin_conf": [null, 0.1261269450187683, 0.16963715986772018, 0.2277067991403433, 0.29466508564196137, 0.3630176992977367, 0.4363122781117757, 0.5150713920593262, 0.5531473755836487, null, null, null, null, null, null], "epoch_seconds": 0.8689640529992175, "eval_seconds": 0.2554828930005897, "trials_together": 1}]');
INSERT INTO "trial_user_attributes" VALUES(114,5,'train_acc','0.391');
INSERT INTO "trial_user_attributes" VALUES(115,5,'val_acc','0.33');
INSERT INTO "trial_user_attributes" VALUES(116,5,'train_nll','1.820422607421875');
INSERT INTO "trial_user_attributes" VALUES(117,5,'val_nll','1.9049993896484374');
INSERT INTO "trial_user_attributes" VALUES(118,5,'val_loss','1.9678323364257813');
INSERT INTO "trial_user_attributes" VALUES(119,5,'val_ece','0.09607421904802323');
INSERT INTO "trial_user_attributes" VALUES(120,5,'train_loss_running','2.0185210704803467');
INSERT INTO "trial_user_attributes" VALUES(121,5,'train_acc_running','0.298');
INSERT INTO "trial_user_attributes" VALUES(122,5,'gap','0.061');
INSERT INTO "trial_user_attributes" VALUES(123,5,'nll_gap','0.0845767822265624');
INSERT INTO "trial_user_attributes" VALUES(124,5,'seconds','5.830563096002152');
INSERT INTO "trial_user_attributes" VALUES(125,6,'worker','"vm:31475:95dc9d"');
INSERT INTO "trial_user_attributes" VALUES(126,6,'heartbeat_grace','60');
INSERT INTO "trial_user_attributes" VALUES(127,6,'device','"cpu"');
INSERT INTO "trial_user_attributes" VALUES(128,6,'threads','2');
INSERT INTO "trial_user_attributes" VALUES(129,6,'machine','"AMD EPYC, 2 cores, AVX2"');
INSERT INTO "trial_user_attributes" VALUES(130,6,'trials_together','1');
INSERT INTO "trial_user_attributes" VALUES(131,6,'compiled','false');
INSERT INTO "trial_user_attributes" VALUES(132,6,'resumed_from_epoch','0');
INSERT INTO "trial_user_attributes" VALUES(133,6,'history','[{"epoch": 1, "train_loss_running": 2.279114246368408, "train_acc_running": 0.155, "train_acc": 0.231, "train_nll": 2.15722216796875, "train_loss": 2.194890380859375, "val_acc": 0.225, "val_nll": 2.170301971435547, "val_loss": 2.2044825744628906, "val_ece": 0.06788471460342406, "val_bin_count": [0, 53, 125, 22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.22641509433962265, 0.176, 0.5, null, null, null, null, null, null, null, null, null, null, null], "val_bin_conf": [null, 0.12419723114877376, 0.15907919311523439, 0.22525930404663086, null, null, null, null, null, null, null, null, null, null, null], "epoch_seconds": 2.9237871160003124, "eval_seconds": 0.7074512549952487, "trials_together": 1}, {"epoch": 2, "train_loss_running": 2.1517393589019775, "train_acc_running": 0.261, "train_acc": 0.314, "train_nll": 1.967915771484375, "train_loss": 2.075607666015625, "val_acc": 0.285, "val_nll": 2.007687683105469, "val_loss": 2.1031744384765627, "val_ece": 0.08561044424772263, "val_bin_count": [0, 6, 109, 39, 24, 9, 7, 4, 1, 1, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.3333333333333333, 0.21100917431192662, 0.358974358974359, 0.20833333333333334, 0.4444444444444444, 0.5714285714285714, 0.75, 1.0, 1.0, null, null, null, null, null], "val_bin_conf": [null, 0.1309816042582194, 0.16234760109437715, 0.22774652334359977, 0.2897740999857585, 0.36708429124620223, 0.4228247233799526, 0.4997659921646118, 0.5646366477012634, 0.6413646936416626, null, null, null, null, null], "epoch_seconds": 1.2562644949939568, "eval_seconds": 0.2891141120053362, "trials_together": 1}, {"epoch": 3, "train_loss_running": 2.0654590129852295, "train_acc_running": 0.314, "train_acc": 0.396, "train_nll": 1.842849365234375, "train_loss": 1.9724774169921875, "val_acc": 0.315, "val_nll": 1.9292140197753906, "val_loss": 2.0399160766601563, "val_ece": 0.09491437464952468, "val_bin_count": [0, 6, 89, 53, 32, 13, 6, 1, 0, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.16666666666666666, 0.24719101123595505, 0.2830188679245283, 0.34375, 0.6153846153846154, 1.0, 0.0, null, null, null, null, null, null, null], "val_bin_conf": [null, 0.12367960810661316, 0.1680501766419143, 0.2288522000582713, 0.29636985063552856, 0.35839513631967396, 0.42931612332661945, 0.5294536352157593, null, null, null, null, null, null, null], "epoch_seconds": 0.8916746430040803, "eval_seconds": 0.7096756909959367, "trials_together": 1}]');
INSERT INTO "trial_user_attributes" VALUES(134,6,'train_acc','0.396');
INSERT INTO "trial_user_attributes" VALUES(135,6,'val_acc','0.315');
INSERT INTO "trial_user_attributes" VALUES(136,6,'train_nll','1.842849365234375');
INSERT INTO "trial_user_attributes" VALUES(137,6,'val_nll','1.9292140197753906');
INSERT INTO "trial_user_attributes" VALUES(138,6,'val_loss','2.0399160766601563');
INSERT INTO "trial_user_attributes" VALUES(139,6,'val_ece','0.09491437464952468');
INSERT INTO "trial_user_attributes" VALUES(140,6,'train_loss_running','2.0654590129852295');
INSERT INTO "trial_user_attributes" VALUES(141,6,'train_acc_running','0.314');
INSERT INTO "trial_user_attributes" VALUES(142,6,'gap','0.08100000000000002');
INSERT INTO "trial_user_attributes" VALUES(143,6,'nll_gap','0.08636465454101572');
INSERT INTO "trial_user_attributes" VALUES(144,6,'seconds','6.777967311994871');
INSERT INTO "trial_user_attributes" VALUES(145,7,'worker','"vm:31475:95dc9d"');
INSERT INTO "trial_user_attributes" VALUES(146,7,'heartbeat_grace','60');
INSERT INTO "trial_user_attributes" VALUES(147,7,'device','"cpu"');
INSERT INTO "trial_user_attributes" VALUES(148,7,'threads','2');
INSERT INTO "trial_user_attributes" VALUES(149,7,'machine','"AMD EPYC, 2 cores, AVX2"');
INSERT INTO "trial_user_attributes" VALUES(150,7,'trials_together','1');
INSERT INTO "trial_user_attributes" VALUES(151,7,'compiled','false');
INSERT INTO "trial_user_attributes" VALUES(152,7,'resumed_from_epoch','0');
INSERT INTO "trial_user_attributes" VALUES(153,7,'history','[{"epoch": 1, "train_loss_running": 2.253965377807617, "train_acc_running": 0.163, "train_acc": 0.287, "train_nll": 2.1016875, "train_loss": 2.1016875, "val_acc": 0.26, "val_nll": 2.1146168518066406, "val_loss": 2.1146168518066406, "val_ece": 0.09809152245521546, "val_bin_count": [0, 22, 158, 18, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.13636363636363635, 0.25316455696202533, 0.3888888888888889, 1.0, null, null, null, null, null, null, null, null, null, null], "val_bin_conf": [null, 0.12739431858062744, 0.15922530693343923, 0.21461772918701172, 0.27915143966674805, null, null, null, null, null, null, null, null, null, null], "epoch_seconds": 2.930075932999898, "eval_seconds": 0.9598371469983249, "trials_together": 1}, {"epoch": 2, "train_loss_running": 2.021266222000122, "train_acc_running": 0.292, "train_acc": 0.351, "train_nll": 1.8930810546875, "train_loss": 1.8930810546875, "val_acc": 0.315, "val_nll": 1.946597900390625, "val_loss": 1.946597900390625, "val_ece": 0.1081869925931096, "val_bin_count": [0, 1, 50, 82, 39, 15, 9, 3, 0, 1, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.0, 0.16, 0.3902439024390244, 0.3333333333333333, 0.4, 0.1111111111111111, 1.0, null, 0.0, null, null, null, null, null], "val_bin_conf": [null, 0.11549917608499527, 0.17730493545532228, 0.23044655962688168, 0.28784891275259167, 0.35549106597900393, 0.43702371915181476, 0.49133141835530597, null, 0.6525248289108276, null, null, null, null, null], "epoch_seconds": 1.198581803997513, "eval_seconds": 0.2903275350035983, "trials_together": 1}, {"epoch": 3, "train_loss_running": 1.87874436378479, "train_acc_running": 0.334, "train_acc": 0.365, "train_nll": 1.796427978515625, "train_loss": 1.796427978515625, "val_acc": 0.325, "val_nll": 1.9149530029296875, "val_loss": 1.9149530029296875, "val_ece": 0.06009980797767639, "val_bin_count": [0, 0, 8, 50, 53, 48, 18, 16, 5, 2, 0, 0, 0, 0, 0], "val_bin_acc": [null, null, 0.0, 0.3, 0.33962264150943394, 0.3125, 0.3333333333333333, 0.4375, 0.6, 0.5, null, null, null, null, null], "val_bin_conf": [null, null, 0.17550025880336761, 0.23646823883056642, 0.2998734780077664, 0.3597920338312785, 0.42931752734714085, 0.5008914470672607, 0.5834188461303711, 0.61888188123703, null, null, null, null, null], "epoch_seconds": 0.8619545870024012, "eval_seconds": 0.26647637999849394, "trials_together": 1}]');
INSERT INTO "trial_user_attributes" VALUES(154,7,'train_acc','0.365');
INSERT INTO "trial_user_attributes" VALUES(155,7,'val_acc','0.325');
INSERT INTO "trial_user_attributes" VALUES(156,7,'train_nll','1.796427978515625');
INSERT INTO "trial_user_attributes" VALUES(157,7,'val_nll','1.9149530029296875');
INSERT INTO "trial_user_attributes" VALUES(158,7,'val_loss','1.9149530029296875');
INSERT INTO "trial_user_attributes" VALUES(159,7,'val_ece','0.06009980797767639');
INSERT INTO "trial_user_attributes" VALUES(160,7,'train_loss_running','1.87874436378479');
INSERT INTO "trial_user_attributes" VALUES(161,7,'train_acc_running','0.334');
INSERT INTO "trial_user_attributes" VALUES(162,7,'gap','0.03999999999999998');
INSERT INTO "trial_user_attributes" VALUES(163,7,'nll_gap','0.11852502441406254');
INSERT INTO "trial_user_attributes" VALUES(164,7,'seconds','6.5072533860002295');
INSERT INTO "trial_user_attributes" VALUES(165,8,'worker','"vm:31475:95dc9d"');
INSERT INTO "trial_user_attributes" VALUES(166,8,'heartbeat_grace','60');
INSERT INTO "trial_user_attributes" VALUES(167,8,'device','"cpu"');
INSERT INTO "trial_user_attributes" VALUES(168,8,'threads','2');
INSERT INTO "trial_user_attributes" VALUES(169,8,'machine','"AMD EPYC, 2 cores, AVX2"');
INSERT INTO "trial_user_attributes" VALUES(170,8,'trials_together','1');
INSERT INTO "trial_user_attributes" VALUES(171,8,'compiled','false');
INSERT INTO "trial_user_attributes" VALUES(172,8,'resumed_from_epoch','0');
INSERT INTO "trial_user_attributes" VALUES(173,8,'history','[{"epoch": 1, "train_loss_running": 2.26213002204895, "train_acc_running": 0.163, "train_acc": 0.291, "train_nll": 2.11160009765625, "train_loss": 2.1371103515625, "val_acc": 0.26, "val_nll": 2.121248321533203, "val_loss": 2.1458035278320313, "val_ece": 0.10270591989159585, "val_bin_count": [0, 28, 159, 12, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.17857142857142858, 0.2641509433962264, 0.3333333333333333, 1.0, null, null, null, null, null, null, null, null, null, null], "val_bin_conf": [null, 0.12635190146309988, 0.1570934919441271, 0.22116510073343912, 0.28911635279655457, null, null, null, null, null, null, null, null, null, null], "epoch_seconds": 2.9524066410012892, "eval_seconds": 0.5681836839939933, "trials_together": 1}, {"epoch": 2, "train_loss_running": 2.0747570991516113, "train_acc_running": 0.292, "train_acc": 0.339, "train_nll": 1.903241943359375, "train_loss": 1.9737952880859375, "val_acc": 0.305, "val_nll": 1.9544320678710938, "val_loss": 2.0192630004882814, "val_ece": 0.09652303013950587, "val_bin_count": [0, 1, 62, 92, 26, 9, 9, 0, 0, 1, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.0, 0.25806451612903225, 0.30434782608695654, 0.46153846153846156, 0.1111111111111111, 0.4444444444444444, null, null, 0.0, null, null, null, null, null], "val_bin_conf": [null, 0.11918134242296219, 0.1753065970636183, 0.2294867349707562, 0.2974274525275597, 0.3513589170244005, 0.43007734086778426, null, null, 0.6087929010391235, null, null, null, null, null], "epoch_seconds": 0.792530650003755, "eval_seconds": 0.25876970699755475, "trials_together": 1}, {"epoch": 3, "train_loss_running": 1.9584450721740723, "train_acc_running": 0.337, "train_acc": 0.361, "train_nll": 1.8019541015625, "train_loss": 1.8994810791015626, "val_acc": 0.305, "val_nll": 1.91392333984375, "val_loss": 1.9994972229003907, "val_ece": 0.05574666380882263, "val_bin_count": [0, 0, 21, 59, 58, 38, 16, 4, 4, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, null, 0.09523809523809523, 0.288135593220339, 0.3103448275862069, 0.3684210526315789, 0.3125, 1.0, 0.25, null, null, null, null, null, null], "val_bin_conf": [null, null, 0.18260158811296737, 0.2367079136735302, 0.29509593700540476, 0.358650709453382, 0.4270128309726715, 0.49588489532470703, 0.5440229773521423, null, null, null, null, null, null], "epoch_seconds": 0.7889930950041162, "eval_seconds": 0.7975364839949179, "trials_together": 1}]');
INSERT INTO "trial_user_attributes" VALUES(174,8,'train_acc','0.361');
INSERT INTO "trial_user_attributes" VALUES(175,8,'val_acc','0.305');
INSERT INTO "trial_user_attributes" VALUES(176,8,'train_nll','1.8019541015625');
INSERT INTO "trial_user_attributes" VALUES(177,8,'val_nll','1.91392333984375');
INSERT INTO "trial_user_attributes" VALUES(178,8,'val_loss','1.9994972229003907');
INSERT INTO "trial_user_attributes" VALUES(179,8,'val_ece','0.05574666380882263');
INSERT INTO "trial_user_attributes" VALUES(180,8,'train_loss_running','1.9584450721740723');
INSERT INTO "trial_user_attributes" VALUES(181,8,'train_acc_running','0.337');
INSERT INTO "trial_user_attributes" VALUES(182,8,'gap','0.055999999999999994');
INSERT INTO "trial_user_attributes" VALUES(183,8,'nll_gap','0.11196923828125005');
INSERT INTO "trial_user_attributes" VALUES(184,8,'seconds','6.1584202609956264');
INSERT INTO "trial_user_attributes" VALUES(185,9,'worker','"vm:31475:95dc9d"');
INSERT INTO "trial_user_attributes" VALUES(186,9,'heartbeat_grace','60');
INSERT INTO "trial_user_attributes" VALUES(187,9,'device','"cpu"');
INSERT INTO "trial_user_attributes" VALUES(188,9,'threads','2');
INSERT INTO "trial_user_attributes" VALUES(189,9,'machine','"AMD EPYC, 2 cores, AVX2"');
INSERT INTO "trial_user_attributes" VALUES(190,9,'trials_together','1');
INSERT INTO "trial_user_attributes" VALUES(191,9,'compiled','false');
INSERT INTO "trial_user_attributes" VALUES(192,9,'resumed_from_epoch','0');
INSERT INTO "trial_user_attributes" VALUES(193,9,'history','[{"epoch": 1, "train_loss_running": 2.2689216136932373, "train_acc_running": 0.164, "train_acc": 0.281, "train_nll": 2.1211240234375, "train_loss": 2.16854736328125, "val_acc": 0.26, "val_nll": 2.131940460205078, "val_loss": 2.1771694946289064, "val_ece": 0.1068387144804001, "val_bin_count": [0, 32, 159, 8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.125, 0.27672955974842767, 0.375, 1.0, null, null, null, null, null, null, null, null, null, null], "val_bin_conf": [null, 0.12544068694114685, 0.1548162376355825, 0.21798492968082428, 0.2866978645324707, null, null, null, null, null, null, null, null, null, null], "epoch_seconds": 3.0469886700011557, "eval_seconds": 0.6969613710025442, "trials_together": 1}, {"epoch": 2, "train_loss_running": 2.119523286819458, "train_acc_running": 0.287, "train_acc": 0.355, "train_nll": 1.9117513427734374, "train_loss": 2.037464111328125, "val_acc": 0.315, "val_nll": 1.9623130798339843, "val_loss": 2.077045135498047, "val_ece": 0.12407689541578293, "val_bin_count": [0, 3, 80, 84, 21, 8, 3, 0, 1, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.0, 0.2375, 0.39285714285714285, 0.3333333333333333, 0.125, 1.0, null, 0.0, null, null, null, null, null, null], "val_bin_conf": [null, 0.12557349602381387, 0.17208662033081054, 0.22560644149780273, 0.29055854252406527, 0.3668460249900818, 0.41930731137593585, null, 0.5814124345779419, null, null, null, null, null, null], "epoch_seconds": 0.8422851229988737, "eval_seconds": 0.30463496699667303, "trials_together": 1}, {"epoch": 3, "train_loss_running": 2.0295376777648926, "train_acc_running": 0.34, "train_acc": 0.379, "train_nll": 1.8038282470703124, "train_loss": 1.970308837890625, "val_acc": 0.31, "val_nll": 1.9050729370117188, "val_loss": 2.0499652099609373, "val_ece": 0.05057379007339477, "val_bin_count": [0, 0, 38, 81, 51, 21, 6, 3, 0, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, null, 0.18421052631578946, 0.32098765432098764, 0.3137254901960784, 0.38095238095238093, 0.6666666666666666, 0.3333333333333333, null, null, null, null, null, null, null], "val_bin_conf": [null, null, 0.17800422718650416, 0.23446518697856386, 0.30032096189611096, 0.36952979224068777, 0.41800161202748615, 0.48503438631693524, null, null, null, null, null, null, null], "epoch_seconds": 0.8446176309953444, "eval_seconds": 0.3095129520006594, "trials_together": 1}]');
INSERT INTO "trial_user_attributes" VALUES(194,9,'train_acc','0.379');
INSERT INTO "trial_user_attributes" VALUES(195,9,'val_acc','0.31');
INSERT INTO "trial_user_attributes" VALUES(196,9,'train_nll','1.8038282470703124');
INSERT INTO "trial_user_attributes" VALUES(197,9,'val_nll','1.9050729370117188');
INSERT INTO "trial_user_attributes" VALUES(198,9,'val_loss','2.0499652099609373');
INSERT INTO "trial_user_attributes" VALUES(199,9,'val_ece','0.05057379007339477');
INSERT INTO "trial_user_attributes" VALUES(200,9,'train_loss_running','2.0295376777648926');
INSERT INTO "trial_user_attributes" VALUES(201,9,'train_acc_running','0.34');
INSERT INTO "trial_user_attributes" VALUES(202,9,'gap','0.069');
INSERT INTO "trial_user_attributes" VALUES(203,9,'nll_gap','0.10124468994140634');
INSERT INTO "trial_user_attributes" VALUES(204,9,'seconds','6.04500071399525');
INSERT INTO "trial_user_attributes" VALUES(205,10,'worker','"vm:31475:95dc9d"');
INSERT INTO "trial_user_attributes" VALUES(206,10,'heartbeat_grace','60');
INSERT INTO "trial_user_attributes" VALUES(207,10,'device','"cpu"');
INSERT INTO "trial_user_attributes" VALUES(208,10,'threads','2');
INSERT INTO "trial_user_attributes" VALUES(209,10,'machine','"AMD EPYC, 2 cores, AVX2"');
INSERT INTO "trial_user_attributes" VALUES(210,10,'trials_together','1');
INSERT INTO "trial_user_attributes" VALUES(211,10,'compiled','false');
INSERT INTO "trial_user_attributes" VALUES(212,10,'resumed_from_epoch','0');
INSERT INTO "trial_user_attributes" VALUES(213,10,'history','[{"epoch": 1, "train_loss_running": 2.2785234451293945, "train_acc_running": 0.153, "train_acc": 0.265, "train_nll": 2.166431884765625, "train_loss": 2.166431884765625, "val_acc": 0.27, "val_nll": 2.1735990905761717, "val_loss": 2.1735989379882814, "val_ece": 0.13236881256103517, "val_bin_count": [0, 72, 128, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.18055555555555555, 0.3203125, null, null, null, null, null, null, null, null, null, null, null, null], "val_bin_conf": [null, 0.12287110752529568, 0.14593373239040375, null, null, null, null, null, null, null, null, null, null, null, null], "epoch_seconds": 3.1186811059960746, "eval_seconds": 1.22472497200215, "trials_together": 1}, {"epoch": 2, "train_loss_running": 2.0612952709198, "train_acc_running": 0.285, "train_acc": 0.323, "train_nll": 1.90345556640625, "train_loss": 1.90345556640625, "val_acc": 0.295, "val_nll": 1.9831118774414063, "val_loss": 1.9831118774414063, "val_ece": 0.03736116796731949, "val_bin_count": [0, 1, 41, 65, 55, 25, 10, 3, 0, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.0, 0.21951219512195122, 0.27692307692307694, 0.3090909090909091, 0.32, 0.5, 0.6666666666666666, null, null, null, null, null, null, null], "val_bin_conf": [null, 0.12678176164627075, 0.17479240603563262, 0.23468777583195613, 0.2960378126664595, 0.3554703903198242, 0.4344311714172363, 0.49790747960408527, null, null, null, null, null, null, null], "epoch_seconds": 0.8237267689983128, "eval_seconds": 0.26607053900079336, "trials_together": 1}, {"epoch": 3, "train_loss_running": 1.8705663681030273, "train_acc_running": 0.333, "train_acc": 0.358, "train_nll": 1.76922216796875, "train_loss": 1.76922216796875, "val_acc": 0.31, "val_nll": 1.920375213623047, "val_loss": 1.920375213623047, "val_ece": 0.11497749388217926, "val_bin_count": [0, 0, 21, 30, 42, 36, 23, 13, 22, 9, 2, 2, 0, 0, 0], "val_bin_acc": [null, null, 0.14285714285714285, 0.4, 0.2857142857142857, 0.3333333333333333, 0.21739130434782608, 0.3076923076923077, 0.3181818181818182, 0.5555555555555556, 1.0, 0.0, null, null, null], "val_bin_conf": [null, null, 0.17616898672921316, 0.23236964543660482, 0.2954165594918387, 0.36707891358269584, 0.43432036690090015, 0.5071390592134916, 0.5615672198208895, 0.6222336027357314, 0.704457700252533, 0.7584304809570312, null, null, null], "epoch_seconds": 0.8376347939993138, "eval_seconds": 0.2619798990053823, "trials_together": 1}]');
INSERT INTO "trial_user_attributes" VALUES(214,10,'train_acc','0.358');
INSERT INTO "trial_user_attributes" VALUES(215,10,'val_acc','0.31');
INSERT INTO "trial_user_attributes" VALUES(216,10,'train_nll','1.76922216796875');
INSERT INTO "trial_user_attributes" VALUES(217,10,'val_nll','1.920375213623047');
INSERT INTO "trial_user_attributes" VALUES(218,10,'val_loss','1.920375213623047');
INSERT INTO "trial_user_attributes" VALUES(219,10,'val_ece','0.11497749388217926');
INSERT INTO "trial_user_attributes" VALUES(220,10,'train_loss_running','1.8705663681030273');
INSERT INTO "trial_user_attributes" VALUES(221,10,'train_acc_running','0.333');
INSERT INTO "trial_user_attributes" VALUES(222,10,'gap','0.04799999999999999');
INSERT INTO "trial_user_attributes" VALUES(223,10,'nll_gap','0.15115304565429688');
INSERT INTO "trial_user_attributes" VALUES(224,10,'seconds','6.532818079002027');
INSERT INTO "trial_user_attributes" VALUES(225,11,'worker','"vm:31475:95dc9d"');
INSERT INTO "trial_user_attributes" VALUES(226,11,'heartbeat_grace','60');
INSERT INTO "trial_user_attributes" VALUES(227,11,'device','"cpu"');
INSERT INTO "trial_user_attributes" VALUES(228,11,'threads','2');
INSERT INTO "trial_user_attributes" VALUES(229,11,'machine','"AMD EPYC, 2 cores, AVX2"');
INSERT INTO "trial_user_attributes" VALUES(230,11,'trials_together','1');
INSERT INTO "trial_user_attributes" VALUES(231,11,'compiled','false');
INSERT INTO "trial_user_attributes" VALUES(232,11,'resumed_from_epoch','0');
INSERT INTO "trial_user_attributes" VALUES(233,11,'history','[{"epoch": 1, "train_loss_running": 2.2819807529449463, "train_acc_running": 0.152, "train_acc": 0.27, "train_nll": 2.16880029296875, "train_loss": 2.184412353515625, "val_acc": 0.265, "val_nll": 2.177598571777344, "val_loss": 2.192446746826172, "val_ece": 0.1285937213897705, "val_bin_count": [0, 79, 121, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.1518987341772152, 0.33884297520661155, null, null, null, null, null, null, null, null, null, null, null, null], "val_bin_conf": [null, 0.12292678446709356, 0.1452069400755827, null, null, null, null, null, null, null, null, null, null, null, null], "epoch_seconds": 3.065878244000487, "eval_seconds": 0.6888105370017001, "trials_together": 1}, {"epoch": 2, "train_loss_running": 2.0988008975982666, "train_acc_running": 0.284, "train_acc": 0.327, "train_nll": 1.901345947265625, "train_loss": 1.971548095703125, "val_acc": 0.33, "val_nll": 1.974594268798828, "val_loss": 2.03783203125, "val_ece": 0.09450680661946535, "val_bin_count": [0, 1, 48, 70, 55, 18, 7, 1, 0, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.0, 0.3125, 0.32857142857142857, 0.2727272727272727, 0.4444444444444444, 0.7142857142857143, 0.0, null, null, null, null, null, null, null], "val_bin_conf": [null, 0.12481997162103653, 0.17210833231608072, 0.2312377657209124, 0.293684872713956, 0.3566124439239502, 0.43333135332380024, 0.5240603685379028, null, null, null, null, null, null, null], "epoch_seconds": 0.8699939119978808, "eval_seconds": 0.27411228900018614, "trials_together": 1}, {"epoch": 3, "train_loss_running": 1.9400546550750732, "train_acc_running": 0.345, "train_acc": 0.374, "train_nll": 1.761739990234375, "train_loss": 1.863533203125, "val_acc": 0.325, "val_nll": 1.8985891723632813, "val_loss": 1.98759765625, "val_ece": 0.09971382737159727, "val_bin_count": [0, 0, 30, 36, 50, 29, 24, 21, 7, 2, 0, 1, 0, 0, 0], "val_bin_acc": [null, null, 0.23333333333333334, 0.3333333333333333, 0.36, 0.2413793103448276, 0.2916666666666667, 0.38095238095238093, 0.7142857142857143, 0.5, null, 0.0, null, null, null], "val_bin_conf": [null, null, 0.1736756165822347, 0.23848970731099448, 0.2981914138793945, 0.36207659491177263, 0.43631207942962646, 0.5007825124831426, 0.5515497412000384, 0.6401766538619995, null, 0.7405850887298584, null, null, null], "epoch_seconds": 0.8641471730006742, "eval_seconds": 0.3064290170004824, "trials_together": 1}]');
INSERT INTO "trial_user_attributes" VALUES(234,11,'train_acc','0.374');
INSERT INTO "trial_user_attributes" VALUES(235,11,'val_acc','0.325');
INSERT INTO "trial_user_attributes" VALUES(236,11,'train_nll','1.761739990234375');
INSERT INTO "trial_user_attributes" VALUES(237,11,'val_nll','1.8985891723632813');
INSERT INTO "trial_user_attributes" VALUES(238,11,'val_loss','1.98759765625');
INSERT INTO "trial_user_attributes" VALUES(239,11,'val_ece','0.09971382737159727');
INSERT INTO "trial_user_attributes" VALUES(240,11,'train_loss_running','1.9400546550750732');
INSERT INTO "trial_user_attributes" VALUES(241,11,'train_acc_running','0.345');
INSERT INTO "trial_user_attributes" VALUES(242,11,'gap','0.04899999999999999');
INSERT INTO "trial_user_attributes" VALUES(243,11,'nll_gap','0.13684918212890618');
INSERT INTO "trial_user_attributes" VALUES(244,11,'seconds','6.069371172001411');
INSERT INTO "trial_user_attributes" VALUES(245,12,'worker','"vm:31475:95dc9d"');
INSERT INTO "trial_user_attributes" VALUES(246,12,'heartbeat_grace','60');
INSERT INTO "trial_user_attributes" VALUES(247,12,'device','"cpu"');
INSERT INTO "trial_user_attributes" VALUES(248,12,'threads','2');
INSERT INTO "trial_user_attributes" VALUES(249,12,'machine','"AMD EPYC, 2 cores, AVX2"');
INSERT INTO "trial_user_attributes" VALUES(250,12,'trials_together','1');
INSERT INTO "trial_user_attributes" VALUES(251,12,'compiled','false');
INSERT INTO "trial_user_attributes" VALUES(252,12,'resumed_from_epoch','0');
INSERT INTO "trial_user_attributes" VALUES(253,12,'history','[{"epoch": 1, "train_loss_running": 2.285642623901367, "train_acc_running": 0.16, "train_acc": 0.282, "train_nll": 2.17174853515625, "train_loss": 2.2018798828125, "val_acc": 0.265, "val_nll": 2.1800518798828126, "val_loss": 2.208724060058594, "val_ece": 0.1307270097732544, "val_bin_count": [0, 89, 111, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.16853932584269662, 0.34234234234234234, null, null, null, null, null, null, null, null, null, null, null, null], "val_bin_conf": [null, 0.12289338701226737, 0.14339717658790382, null, null, null, null, null, null, null, null, null, null, null, null], "epoch_seconds": 3.5835985480007366, "eval_seconds": 0.5363046459970064, "trials_together": 1}, {"epoch": 2, "train_loss_running": 2.130434036254883, "train_acc_running": 0.295, "train_acc": 0.325, "train_nll": 1.9039710693359375, "train_loss": 2.034739501953125, "val_acc": 0.315, "val_nll": 1.97549072265625, "val_loss": 2.092059326171875, "val_ece": 0.10158758632838727, "val_bin_count": [0, 1, 55, 86, 41, 13, 3, 0, 1, 0, 0, 0, 0, 0, 0], "val_bin_acc": [null, 0.0, 0.2, 0.37209302325581395, 0.24390243902439024, 0.6153846153846154, 0.6666666666666666, null, 0.0, null, null, null, null, null, null], "val_bin_conf": [null, 0.1285148710012436, 0.17320995330810546, 0.23035410947577897, 0.29122282819050116, 0.36046725053053635, 0.420708696047465, null, 0.5340676307678223, null, null, null, null, null, null], "epoch_seconds": 0.8835467919998337, "eval_seconds": 0.270120584005781, "trials_together": 1}, {"epoch": 3, "train_loss_running": 2.008816719055176, "train_acc_running": 0.348, "train_acc": 0.371, "train_nll": 1.767422607421875, "train_loss": 1.946936279296875, "val_acc": 0.31, "val_nll": 1.8928675842285156, "val_loss": 2.048646240234375, "val_ece": 0.08934261441230773, "val_bin_count": [0, 0, 35, 52, 46, 27, 24, 11, 4, 0, 1, 0, 0, 0, 0], "val_bin_acc": [null, null, 0.2571428571428571, 0.36538461538461536, 0.1956521739130435, 0.3333333333333333, 0.4166666666666667, 0.36363636363636365, 0.5, null, 0.0, null, null, null, null], "val_bin_conf": [null, null, 0.16847944259643555, 0.23552878086383527, 0.2922255474588145, 0.3657669491238064, 0.4326556921005249, 0.4881985837763006, 0.5656293034553528, null, 0.678278923034668, null, null, null, null], "epoch_seconds": 1.058341081996332, "eval_seconds": 0.2703779760049656, "trials_together": 1}]');
INSERT INTO "trial_user_attributes" VALUES(254,12,'train_acc','0.371');
INSERT INTO "trial_user_attributes" VALUES(255,12,'val_acc','0.31');
INSERT INTO "trial_user_attributes" VALUES(256,12,'train_nll','1.767422607421875');
INSERT INTO "trial_user_attributes" VALUES(257,12,'val_nll','1.8928675842285156');
INSERT INTO "trial_user_attributes" VALUES(258,12,'val_loss','2.048646240234375');
INSERT INTO "trial_user_attributes" VALUES(259,12,'val_ece','0.08934261441230773');
INSERT INTO "trial_user_attributes" VALUES(260,12,'train_loss_running','2.008816719055176');
INSERT INTO "trial_user_attributes" VALUES(261,12,'train_acc_running','0.348');
INSERT INTO "trial_user_attributes" VALUES(262,12,'gap','0.061');
INSERT INTO "trial_user_attributes" VALUES(263,12,'nll_gap','0.12544497680664057');
INSERT INTO "trial_user_attributes" VALUES(264,12,'seconds','6.602289628004655');
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
INSERT INTO "trial_values" VALUES(1,1,0,0.345,'FINITE');
INSERT INTO "trial_values" VALUES(2,2,0,0.345,'FINITE');
INSERT INTO "trial_values" VALUES(3,3,0,0.33,'FINITE');
INSERT INTO "trial_values" VALUES(4,4,0,0.305,'FINITE');
INSERT INTO "trial_values" VALUES(5,5,0,0.33,'FINITE');
INSERT INTO "trial_values" VALUES(6,6,0,0.315,'FINITE');
INSERT INTO "trial_values" VALUES(7,7,0,0.325,'FINITE');
INSERT INTO "trial_values" VALUES(8,8,0,0.305,'FINITE');
INSERT INTO "trial_values" VALUES(9,9,0,0.31,'FINITE');
INSERT INTO "trial_values" VALUES(10,10,0,0.31,'FINITE');
INSERT INTO "trial_values" VALUES(11,11,0,0.325,'FINITE');
INSERT INTO "trial_values" VALUES(12,12,0,0.31,'FINITE');
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
INSERT INTO "trials" VALUES(1,0,1,'COMPLETE','2026-12-07 12:39:31.851898','2026-12-07 12:39:39.869912');
INSERT INTO "trials" VALUES(2,1,1,'COMPLETE','2026-12-07 12:39:39.885883','2026-12-07 12:39:46.081489');
INSERT INTO "trials" VALUES(3,2,1,'COMPLETE','2026-12-07 12:39:46.094149','2026-12-07 12:39:51.884309');
INSERT INTO "trials" VALUES(4,3,1,'COMPLETE','2026-12-07 12:39:51.896301','2026-12-07 12:39:58.308840');
INSERT INTO "trials" VALUES(5,4,1,'COMPLETE','2026-12-07 12:39:58.321142','2026-12-07 12:40:04.306229');
INSERT INTO "trials" VALUES(6,5,1,'COMPLETE','2026-12-07 12:40:04.318531','2026-12-07 12:40:11.236970');
INSERT INTO "trials" VALUES(7,6,1,'COMPLETE','2026-12-07 12:40:11.250881','2026-12-07 12:40:17.901311');
INSERT INTO "trials" VALUES(8,7,1,'COMPLETE','2026-12-07 12:40:17.913232','2026-12-07 12:40:24.267174');
INSERT INTO "trials" VALUES(9,8,1,'COMPLETE','2026-12-07 12:40:24.350718','2026-12-07 12:40:30.675778');
INSERT INTO "trials" VALUES(10,9,1,'COMPLETE','2026-12-07 12:40:30.696476','2026-12-07 12:40:37.392047');
INSERT INTO "trials" VALUES(11,10,1,'COMPLETE','2026-12-07 12:40:37.403744','2026-12-07 12:40:43.651702');
INSERT INTO "trials" VALUES(12,11,1,'COMPLETE','2026-12-07 12:40:43.663698','2026-12-07 12:40:50.506067');
CREATE TABLE version_info (
	version_info_id INTEGER NOT NULL, 
	schema_version INTEGER, 
	library_version VARCHAR(256), 
	PRIMARY KEY (version_info_id), 
	CHECK (version_info_id=1)
);
INSERT INTO "version_info" VALUES(1,12,'5.1.0');
CREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name);
CREATE INDEX ix_trials_study_id ON trials (study_id);
COMMIT;
