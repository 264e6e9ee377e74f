"""The pure decision core: no Kafka, database, network or clock in here (pass `now` in).

Entry points: `normalize.normalize`, `packs.load_pack_dir` / `packs.build_pack_set`,
`engine.decide` and `status.transition`.
"""
