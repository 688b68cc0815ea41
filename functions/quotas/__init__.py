"""The quota brakes' shared parts: Gemini quota ids per tier, the Cloud Quotas calls, planning
which preferences to set, setting them resumably, and the spend-ceiling arithmetic.

    ids       quota family x tier -> quota id; resolve them among a project's quota infos
    api       quotaInfos / quotaPreferences through google-cloud-quotas (REST)
    plan      (quota id, model, value) rows for throttle and lock-models
    apply     set rows one preference each, recording the values they replace
    ceiling   per-model quotas whose worst-case daily cost stays under an amount (pure)
"""
