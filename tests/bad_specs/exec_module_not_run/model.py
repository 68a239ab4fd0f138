import keras

open("EXECUTED", "w").write("this module ran")


def Tiny():
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(2)])
