"""Strategies by name: the registry the CLI, runner and labeling app share."""

import pytest

from aalu_sk import (AdversarialUncertaintySampler, BADGESampler,
                     EntropySampler, VAALSampler)
from aalu_sk.strategies import ABLATIONS, STRATEGIES, make_strategy
from aalu_sk.strategies.registry import check_strategy_name


def test_every_name_builds_its_class_with_the_seed():
    for name, (cls, fixed) in STRATEGIES.items():
        strategy = make_strategy(name, random_state=5)
        assert type(strategy) is cls
        assert strategy.random_state == 5
        params = strategy.get_params()
        assert all(params[k] == v for k, v in fixed.items())


def test_aalu_names_are_the_presets_and_the_papers_table():
    assert make_strategy("aalu").preset == "default"
    assert make_strategy("aalu_paper").preset == "paper"
    losslearn = make_strategy("losslearn")
    assert losslearn.preset == "paper"
    assert all(losslearn.get_params()[k] == v
               for k, v in ABLATIONS["lossLearn"].items())


def test_suffixes_set_the_batch_rule():
    assert make_strategy("entropy+div").diversity == "kmeans"
    assert make_strategy("entropy").diversity is None
    assert make_strategy("aalu+topk").diversity is None
    assert make_strategy("aalu").diversity == "auto"
    assert make_strategy("vaal+div").diversity == "kmeans"
    with pytest.raises(ValueError, match="forms its batches itself"):
        make_strategy("badge+div")
    with pytest.raises(ValueError, match="Unknown strategy 'entropy\\+dpp'"):
        check_strategy_name("entropy+dpp")
    with pytest.raises(ValueError, match="must be a string"):
        check_strategy_name(3)


def test_options_reach_the_strategies_that_have_them():
    kw = dict(selector_epochs=7, selector_batch_size=16, device="cpu",
              selector_max_steps=50, vaal_channels=[4, 8], verbose=1)
    aalu = make_strategy("aalu", 0, **kw)
    assert (aalu.epochs, aalu.batch_size, aalu.max_steps, aalu.device,
            aalu.verbose) == (7, 16, 50, "cpu", 1)
    vaal = make_strategy("vaal", 0, **kw)
    assert vaal.channels == (4, 8) and vaal.epochs == 7
    assert isinstance(make_strategy("entropy", 0, **kw), EntropySampler)
    assert isinstance(make_strategy("badge", 0, **kw), BADGESampler)
    with pytest.raises(TypeError, match="unknown options"):
        make_strategy("aalu", 0, epochs=3)


def test_fixed_parameters_win_over_options():
    # the paper's ablations keep their flags whatever the options say
    strategy = make_strategy("advvae", 0, selector_epochs=3)
    assert isinstance(strategy, AdversarialUncertaintySampler)
    assert strategy.ranking_weight == 0 and strategy.epochs == 3
    assert isinstance(make_strategy("vaal"), VAALSampler)
