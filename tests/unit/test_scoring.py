from crawler.scoring import AppScore, score


def test_precision_and_recall_per_kind_and_overall():
    apps = [
        AppScore("a", ["quit_on_refusal"], ["quit_on_refusal"]),
        AppScore("b", ["reprompt_after_refusal", "self_start"], ["reprompt_after_refusal"]),
        AppScore("c", [], ["popup_harassment"]),  # a clean control with a finding: a false positive
    ]
    result = score(apps)
    assert result["per_kind"]["quit_on_refusal"] == {"tp": 1, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0}
    assert result["per_kind"]["self_start"]["recall"] == 0.0
    assert result["per_kind"]["popup_harassment"]["precision"] == 0.0
    assert result["precision"] == round(2 / 3, 4) and result["recall"] == round(2 / 3, 4)
    assert [a.ok for a in apps] == [True, False, False]
