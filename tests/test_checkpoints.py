"""Checkpoints: round trip, clear errors for a missing, malformed, damaged or wrong-shaped file."""
import pytest
import torch

import solutions as S


def small_net(seed, hidden_units=8, width=5):
    torch.manual_seed(seed)
    return S.QNetwork(width, hidden_units)


def test_round_trip_keeps_every_weight_and_the_metadata(tmp_path):
    path = tmp_path / "agent.pt"
    q_net, target_net = small_net(0), small_net(1)
    S.save_checkpoint(str(path), {"q_net": q_net, "target_net": target_net}, {"seed": 7, "note": "test"})
    networks, metadata = S.load_checkpoint(str(path))
    assert metadata["seed"] == 7 and metadata["note"] == "test"
    assert metadata["width"] == 5 and metadata["hidden_units"] == 8
    assert len(metadata["sha256"]) == 64
    for name, original in (("q_net", q_net), ("target_net", target_net)):
        for key, value in original.state_dict().items():
            assert torch.equal(networks[name].state_dict()[key].cpu(), value)


def test_missing_file_names_the_path_and_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="spoilers.py"):
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
    path = saved_then_edited(tmp_path, lambda payload: payload["networks"]["q_net"]["layers.0.bias"].add_(1.0))
    with pytest.raises(ValueError, match="sha256"):
        S.load_checkpoint(path)


def test_weights_of_the_wrong_shape_give_a_clear_error(tmp_path):
    # The metadata claims a bigger network than the weights hold.
    path = saved_then_edited(tmp_path, lambda payload: payload["metadata"].update(hidden_units=16))
    with pytest.raises(ValueError, match="does not fit a QNetwork of width 5 with 16 hidden units"):
        S.load_checkpoint(path)
