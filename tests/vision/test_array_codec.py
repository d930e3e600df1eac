"""The shared cache's array codec: what comes back, how small it travels, and what it refuses."""
from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from vision.array_codec import CodecError, array_decode, array_encode


def embedding_like() -> np.ndarray:
    """Smooth values within ±0.6, like SAM's image embeddings."""
    rng = np.random.default_rng(0)
    return (0.3 * np.sin(np.linspace(0, 60, 256 * 64 * 64)).reshape(1, 256, 64, 64)
            + rng.normal(0, 0.05, (1, 256, 64, 64))).astype(np.float32)


def test_floats_come_back_in_their_dtype_and_shape_within_half_precision():
    array = embedding_like()
    back = array_decode(array_encode(array))
    assert back.dtype == np.float32 and back.shape == array.shape
    assert np.abs(back - array).max() <= 2.0 ** -11 * np.abs(array).max()
    assert np.array_equal(back, array.astype(np.float16).astype(np.float32))  # exactly float16's rounding


def test_a_float32_array_travels_in_less_than_half_its_bytes():
    array = embedding_like()
    assert len(array_encode(array)) < array.nbytes / 2


def test_integers_and_booleans_come_back_exactly():
    rng = np.random.default_rng(1)
    for array in (rng.integers(0, 256, (37, 41), np.uint8), rng.integers(-2**40, 2**40, (5, 3), np.int64),
                  rng.random((8, 9)) > 0.5, np.float16(rng.random((4, 4)))):
        back = array_decode(array_encode(array))
        assert back.dtype == array.dtype and np.array_equal(back, array)


def test_values_past_half_precision_keep_their_own_precision():
    array = np.asarray([1e-3, 7e4, -1e6, 3.25], np.float32)
    assert np.array_equal(array_decode(array_encode(array)), array)


def test_infinities_and_nan_already_there_survive():
    back = array_decode(array_encode(np.asarray([np.inf, -np.inf, np.nan, 1.5], np.float32)))
    assert np.isposinf(back[0]) and np.isneginf(back[1]) and np.isnan(back[2]) and back[3] == 1.5


def test_empty_scalar_and_big_endian_arrays_round_trip():
    for array in (np.zeros((0, 7), np.float32), np.asarray(2.5, np.float64), np.arange(6, dtype=">i4").reshape(2, 3)):
        back = array_decode(array_encode(array))
        assert back.shape == array.shape and np.array_equal(back, array)
    assert array_decode(array_encode(np.arange(3, dtype=">f8"))).dtype.isnative


def test_object_arrays_are_refused():
    with pytest.raises(TypeError):
        array_encode(np.asarray([{"a": 1}], dtype=object))


@pytest.mark.parametrize("damage", [
    lambda data: data[:10],  # truncated header
    lambda data: b"XXXX" + data[4:],  # another magic
    lambda data: data[:4] + bytes([2]) + data[5:],  # another version
    lambda data: data[:-5],  # truncated body
    lambda data: data[:-20] + bytes(20),  # corrupt body
    lambda data: b"",
])
def test_damaged_bytes_are_a_codec_error(damage):
    data = array_encode(np.arange(1000, dtype=np.float32))
    with pytest.raises(CodecError):
        array_decode(damage(data))


def test_a_body_of_the_wrong_size_is_a_codec_error():
    header = struct.pack("<4sB8s8sBQ", b"BGAR", 1, b"<f4", b"<f2", 1, 10)
    with pytest.raises(CodecError, match="cannot hold"):
        array_decode(header + zlib.compress(bytes(19)))
