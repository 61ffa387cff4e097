"""The statistics of a sweep computed independently, by scipy and statsmodels.

Reads from standard input a JSON object: {"keys": [...], "margin": points,
"runs": [{"keys": {key: value}, "accuracy": a}, ...]}, and prints a JSON
object with, for each key, the type II ANOVA line of its main effect (and of
each two-way interaction when asked), and for every pair of configurations
Welch's p, the Holm-adjusted p over the testable pairs and the TOST p.
"""

import itertools
import json
import sys

import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.weightstats import ttost_ind

given = json.load(sys.stdin)
keys = given["keys"]
margin = given["margin"] / 100.0
columns = [f"k{i}" for i in range(len(keys))]
rows = [
    {**{c: run["keys"][k] for c, k in zip(columns, keys)}, "y": run["accuracy"]}
    for run in given["runs"]
]
frame = pd.DataFrame(rows)

terms = [f"C({c})" for c in columns]
if given["interactions"]:
    terms += [f"C({a}):C({b})" for a, b in itertools.combinations(columns, 2)]
table = anova_lm(smf.ols("y ~ " + " + ".join(terms), frame).fit(), typ=2)
anova = {}
for term, line in table.iterrows():
    if term == "Residual":
        continue
    names = [keys[columns.index(part[2:-1])] for part in term.split(":")]
    anova[" × ".join(names)] = {
        "sum_sq": line["sum_sq"],
        "df": line["df"],
        "f": line["F"],
        "p": line["PR(>F)"],
    }

configurations = {}
for run in given["runs"]:
    label = " ".join(f"{k}={run['keys'][k]}" for k in keys)
    configurations.setdefault(label, []).append(run["accuracy"])
pairs = []
for a, b in itertools.combinations(sorted(configurations), 2):
    x, y = configurations[a], configurations[b]
    if len(x) < 2 or len(y) < 2:
        continue
    welch = stats.ttest_ind(x, y, equal_var=False)
    tost = ttost_ind(pd.Series(x), pd.Series(y), -margin, margin, usevar="unequal")[0]
    pairs.append({"a": a, "b": b, "p": float(welch.pvalue), "p_tost": float(tost)})
adjusted = multipletests([pair["p"] for pair in pairs], method="holm")[1]
for pair, p in zip(pairs, adjusted):
    pair["p_holm"] = float(p)

json.dump({"anova": anova, "pairs": pairs}, sys.stdout)
