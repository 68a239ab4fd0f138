open("EXECUTED", "w").write("this module ran")
