"""Checkpoints: round trip, clear errors for a missing, malformed, damaged, wrong-shaped or old-format file."""
import pytest
import torch

import solutions as S


def small_net(seed, width=5):
    torch.manual_seed(seed)
    return S.QNetwork(width, channels=4, context_units=3, hidden_units=8)


def test_round_trip_keeps_every_weight_and_the_metadata(tmp_path):
    path = tmp_path / "agent.pt"
    q_net, target_net = small_net(0), small_net(1)
    S.save_checkpoint(str(path), {"q_net": q_net, "target_net": target_net}, {"seed": 7, "note": "test"})
    networks, metadata = S.load_checkpoint(str(path))
    assert metadata["seed"] == 7 and metadata["note"] == "test"
    assert metadata["network"] == q_net.sizes() == {"width": 5, "channels": 4, "context_units": 3, "hidden_units": 8}
    assert len(metadata["sha256"]) == 64
    for name, original in (("q_net", q_net), ("target_net", target_net)):
        assert networks[name].sizes() == original.sizes()
        loaded = networks[name].state_dict()
        assert set(loaded) == set(original.state_dict())
        for key, value in original.state_dict().items():
            assert torch.equal(loaded[key].cpu(), value), (name, key)


def test_the_callers_metadata_is_left_alone(tmp_path):
    metadata = {"seed": 7}
    S.save_checkpoint(str(tmp_path / "agent.pt"), {"q_net": small_net(0)}, metadata)
    assert metadata == {"seed": 7}


def test_missing_file_names_the_path_and_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothing_here\.pt.*spoilers\.py"):
        S.load_checkpoint(str(tmp_path / "nothing_here.pt"))


def test_a_file_without_the_expected_keys_is_rejected(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match="'networks' and 'metadata'"):
        S.load_checkpoint(str(path))


def saved_then_edited(tmp_path, edit):
    """Save a small checkpoint, change its payload with `edit`, write it back; returns the path."""
    path = tmp_path / "agent.pt"
    S.save_checkpoint(str(path), {"q_net": small_net(0)}, {})
    payload = torch.load(path, weights_only=True)
    edit(payload)
    torch.save(payload, path)
    return str(path)


def test_a_changed_weight_fails_the_checksum(tmp_path):
    path = saved_then_edited(tmp_path, lambda payload: payload["networks"]["q_net"]["features.0.bias"].add_(1.0))
    with pytest.raises(ValueError, match="sha256"):
        S.load_checkpoint(path)


def test_weights_of_the_wrong_shape_give_a_clear_error(tmp_path):
    # The metadata claims a wider move scorer than the weights hold (the checksum covers only the weights).
    path = saved_then_edited(tmp_path, lambda payload: payload["metadata"]["network"].update(hidden_units=16))
    with pytest.raises(ValueError, match=r"network 'q_net' does not fit a QNetwork of sizes \{.*'hidden_units': 16\}"):
        S.load_checkpoint(path)


def test_an_old_checkpoint_without_network_sizes_says_how_to_regenerate(tmp_path):
    def old_format(payload):
        # Before the Q-maps, the metadata held the width and hidden units at its top level.
        del payload["metadata"]["network"]
        payload["metadata"].update(width=5, hidden_units=512)

    with pytest.raises(ValueError, match=r"no network sizes.*`python spoilers\.py` regenerates weights/"):
        S.load_checkpoint(saved_then_edited(tmp_path, old_format))
