# VW multiclass with named features, hashed into dim columns
2 |a word other:2
1 'tag|b word
3 |a 4 |b 2:0.5
